/**
 * The GPT decoder of bench-S (`shared/peers/torch_rlhf_step.py`), with its three heads.
 *
 *   x = tok[ids] + pos[positions]
 *   for each block:  x = x + proj(attention(qkv(ln1(x))));  x = x + out(gelu(fc(ln2(x))))
 *   h = lnf(x);  head(h)
 *
 * Heads: `language` (policy, reference; logits (B, T, V)), `value` (critic; one scalar per token (B, T)),
 * `reward` (one scalar at the last real token of each row (B)). Value and reward share the layout of a 1-wide
 * head, as in the peer.
 *
 * Parameters live in one flat Float32Array (`model.parameters.data`, the source of truth); tfjs tensors are
 * built from it on demand and rebuilt by `refresh()` after an optimizer writes the buffer. Linear weights are
 * stored (in, out), i.e. torch's `weight.T`.
 *
 * Inputs are token ids with an optional attention mask for LEFT-padded prompts: padded keys are masked out and
 * position ids are `max(cumsum(mask) - 1, 0)` as in Hugging Face, so a left-padded row computes what the
 * unpadded row computes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PosttrainError } from '../runtime/errors.ts';
import { DecoderBase } from './decoder-base.ts';
import { FlatParameters } from './flat-parameters.ts';
import { type GPTConfig, validateGPTConfig } from './gpt-config.ts';
import { KVCache } from './kv-cache.ts';
import { causalAttention } from './ops/attention.ts';
import { gatherRows } from './ops/gather-rows.ts';
import { gelu } from './ops/gelu.ts';
import { layerNorm } from './ops/layer-norm.ts';
import { linear } from './ops/linear.ts';
import { Rng } from './rng.ts';

/** Which output a model computes. */
export type HeadKind = 'language' | 'value' | 'reward';

/** A batch of token sequences as plain typed arrays (what the runtime moves). */
export interface TokenBatch {
  /** (B, T) token ids, row-major. */
  tokens: Int32Array;
  batchSize: number;
  /** T, the row length. */
  length: number;
  /** (B, T) 1 for real tokens, 0 for padding; default all ones. Padding may be on either side. */
  attentionMask?: Int32Array;
}

export interface GPTOptions {
  head?: HeadKind;
  /** Seed for the deterministic initialisation (same seed, same weights, every backend). */
  seed?: number;
  /** Start from these weights instead of initialising (copied). */
  weights?: Float32Array;
}

/** LayerNorm epsilon of torch.nn.LayerNorm. */
const LAYER_NORM_EPSILON = 1e-5;

/**
 * @example
 * const policy = new GPT(BENCH_S, { head: 'language', seed: 1 });
 * const logits = policy.logits({ tokens, batchSize: 2, length: 8 }); // (2, 8, 64)
 * logits.dispose();
 */
export class GPT extends DecoderBase {
  readonly config: GPTConfig;
  readonly head: HeadKind;
  readonly parameters: FlatParameters;

  constructor(config: GPTConfig, options: GPTOptions = {}) {
    super();
    validateGPTConfig(config);
    this.config = { ...config };
    this.head = options.head ?? 'language';
    this.parameters = FlatParameters.fromShapes(parameterShapes(this.config, this.head));
    if (options.weights) this.parameters.load(options.weights);
    else initializeParameters(this.parameters, new Rng(options.seed ?? 0));
  }

  /**
   * Reward head: the scalar at the last real token of each row (the last position whose mask is 1).
   * @returns (B)
   */
  scores(batch: TokenBatch): tf.Tensor1D {
    this.expectHead('reward', 'scores');
    const { batchSize, length } = batch;
    const lastRows = Int32Array.from(this.lastRealPositions(batch), (position, b) => b * length + position);
    return tf.tidy(() => {
      const hidden = this.hiddenStates(batch, undefined, 0);
      const flat = tf.reshape(hidden, [batchSize * length, this.config.dModel]) as tf.Tensor2D;
      const picked = gatherRows(flat, tf.tensor1d(lastRows, 'int32'));
      return tf.reshape(this.applyHead(tf.expandDims(picked, 0) as tf.Tensor3D), [batchSize]) as tf.Tensor1D;
    });
  }

  protected get layerCount(): number {
    return this.config.nLayers;
  }

  /** (B, T', D) final-LayerNorm hidden states for positions startPosition.. of the new tokens. */
  protected hiddenStates(batch: TokenBatch, cache: KVCache | undefined, startPosition: number): tf.Tensor3D {
    const { batchSize, length, tokens } = batch;
    const { dModel, nHeads, nLayers, contextLength, vocabSize } = this.config;
    if (tokens.length !== batchSize * length) {
      throw new PosttrainError('INPUT_SHAPE', `tokens has ${tokens.length} ids, expected batchSize*length = ${batchSize}*${length}`, { path: 'batch.tokens' });
    }
    const mask = batch.attentionMask ?? new Int32Array(batchSize * length).fill(1);
    const past = cache?.length ?? 0;
    if (past + length > (cache?.capacity ?? contextLength) || past + length > contextLength) {
      throw new PosttrainError('INPUT_TOO_LONG', `sequence of ${past + length} tokens exceeds the context length ${contextLength}`, { path: 'batch.length' });
    }
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token < 0 || token >= vocabSize || !Number.isInteger(token)) {
        throw new PosttrainError('INPUT_TOKEN', `token id ${token} at index ${i} is outside the vocabulary [0, ${vocabSize})`, { path: 'batch.tokens' });
      }
    }
    if (mask.length !== batchSize * length) {
      throw new PosttrainError('INPUT_SHAPE', `attentionMask has ${mask.length} entries, expected batchSize*length = ${batchSize}*${length}`, { path: 'batch.attentionMask' });
    }
    const positions = cache ? cache.appendMask(mask, length) : positionIds(mask, batchSize, length);
    const keyCount = past + length;
    const keyStride = cache ? cache.capacity : length;
    const keyMaskSource = cache ? cache.keyMask : mask;
    const keyMask = new Float32Array(batchSize * keyCount);
    for (let b = 0; b < batchSize; b++) for (let j = 0; j < keyCount; j++) keyMask[b * keyCount + j] = keyMaskSource[b * keyStride + j]! !== 0 ? 1 : 0;
    const weights = this.ensureTensors();
    const parameter = <T extends tf.Tensor>(name: string) => weights.get(name) as T;

    const tokenIds = tf.tensor1d(tokens, 'int32');
    const positionTensor = tf.tensor1d(positions, 'int32');
    const keyMaskTensor = tf.tensor2d(keyMask, [batchSize, keyCount]);
    /** (B*T, D) residual stream */
    let x: tf.Tensor2D = tf.add(gatherRows(parameter('tok.weight'), tokenIds), gatherRows(parameter('pos.weight'), positionTensor));

    for (let layer = 0; layer < nLayers; layer++) {
      const prefix = `blocks.${layer}`;
      const normed = layerNorm(x, parameter(`${prefix}.ln1.weight`), parameter(`${prefix}.ln1.bias`), LAYER_NORM_EPSILON);
      /** (B, T, 3D) query | key | value */
      const qkv = tf.reshape(linear(normed, parameter(`${prefix}.qkv.weight`), parameter(`${prefix}.qkv.bias`)), [batchSize, length, 3 * dModel]) as tf.Tensor3D;
      const attended = causalAttention(qkv, keyMaskTensor, { heads: nHeads, cache: cache?.keyValues(layer) });
      cache?.append(layer, tf.slice(qkv, [0, 0, dModel], [batchSize, length, 2 * dModel]));
      const merged = tf.reshape(attended, [batchSize * length, dModel]) as tf.Tensor2D;
      x = tf.add(x, linear(merged, parameter(`${prefix}.proj.weight`), parameter(`${prefix}.proj.bias`)));
      const normed2 = layerNorm(x, parameter(`${prefix}.ln2.weight`), parameter(`${prefix}.ln2.bias`), LAYER_NORM_EPSILON);
      const hidden = gelu(linear(normed2, parameter(`${prefix}.fc.weight`), parameter(`${prefix}.fc.bias`)));
      x = tf.add(x, linear(hidden, parameter(`${prefix}.out.weight`), parameter(`${prefix}.out.bias`)));
    }
    if (cache) cache.commit(length);
    let states = tf.reshape(x, [batchSize, length, dModel]) as tf.Tensor3D;
    if (startPosition > 0) states = tf.slice(states, [0, startPosition, 0], [batchSize, length - startPosition, dModel]);
    return layerNorm(states, parameter('lnf.weight'), parameter('lnf.bias'), LAYER_NORM_EPSILON);
  }

  /** (B, T, D) -> (B, T, headWidth) */
  protected applyHead(hidden: tf.Tensor3D): tf.Tensor3D {
    const [batchSize, length, dModel] = hidden.shape;
    const weights = this.ensureTensors();
    const flat = tf.reshape(hidden, [batchSize * length, dModel]) as tf.Tensor2D;
    const out = linear(flat, weights.get('head.weight') as tf.Tensor2D, weights.get('head.bias') as tf.Tensor1D);
    return tf.reshape(out, [batchSize, length, -1]) as tf.Tensor3D;
  }
}

/** Position ids `max(cumsum(mask) - 1, 0)` per row, as Hugging Face computes them for left padding. */
export function positionIds(mask: Int32Array, batchSize: number, length: number): Int32Array {
  const positions = new Int32Array(batchSize * length);
  for (let b = 0; b < batchSize; b++) {
    let count = 0;
    for (let t = 0; t < length; t++) {
      count += mask[b * length + t] !== 0 ? 1 : 0;
      positions[b * length + t] = Math.max(count - 1, 0);
    }
  }
  return positions;
}

/** The flat layout, in the order of the peer's state_dict. */
export function parameterShapes(config: GPTConfig, head: HeadKind): [string, number[]][] {
  const { vocabSize, contextLength, dModel, nLayers } = config;
  const shapes: [string, number[]][] = [
    ['tok.weight', [vocabSize, dModel]],
    ['pos.weight', [contextLength, dModel]],
  ];
  for (let layer = 0; layer < nLayers; layer++) {
    const prefix = `blocks.${layer}`;
    shapes.push(
      [`${prefix}.ln1.weight`, [dModel]],
      [`${prefix}.ln1.bias`, [dModel]],
      [`${prefix}.ln2.weight`, [dModel]],
      [`${prefix}.ln2.bias`, [dModel]],
      [`${prefix}.qkv.weight`, [dModel, 3 * dModel]],
      [`${prefix}.qkv.bias`, [3 * dModel]],
      [`${prefix}.proj.weight`, [dModel, dModel]],
      [`${prefix}.proj.bias`, [dModel]],
      [`${prefix}.fc.weight`, [dModel, 4 * dModel]],
      [`${prefix}.fc.bias`, [4 * dModel]],
      [`${prefix}.out.weight`, [4 * dModel, dModel]],
      [`${prefix}.out.bias`, [dModel]],
    );
  }
  const width = head === 'language' ? vocabSize : 1;
  shapes.push(['lnf.weight', [dModel]], ['lnf.bias', [dModel]], ['head.weight', [dModel, width]], ['head.bias', [width]]);
  return shapes;
}

/**
 * torch's default initialisation, drawn in JavaScript from a seeded Rng so every backend gets the same bytes:
 * Embedding N(0, 1); Linear weight and bias U(-1/sqrt(in), 1/sqrt(in)); LayerNorm weight 1, bias 0.
 */
export function initializeParameters(parameters: FlatParameters, rng: Rng): void {
  for (const entry of parameters.manifest.entries) {
    const view = parameters.view(entry.name);
    const [kind, field] = entry.name.split('.').slice(-2) as [string, string];
    if (kind === 'tok' || kind === 'pos') {
      for (let i = 0; i < view.length; i++) view[i] = rng.normal();
    } else if (kind.startsWith('ln')) {
      view.fill(field === 'weight' ? 1 : 0);
    } else {
      const fanIn = field === 'weight' ? entry.shape[0]! : parameters.entry(entry.name.replace(/bias$/, 'weight')).shape[0]!;
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < view.length; i++) view[i] = (2 * rng.uniform() - 1) * bound;
    }
  }
}
