/**
 * The decoder of Hugging Face's GPT-2, Llama, Mistral, Qwen2 and Qwen3 checkpoints: one implementation whose
 * differences are the flags of a DecoderSpec (models/hf/hf-config.ts), computing what transformers computes with
 * eager attention in float32 (pinned by test/models/hf/fixtures.test.ts against ../shared/fixtures/hf/).
 *
 *   x = embed[ids] (+ learned position[positions], GPT-2)
 *   for each block:  x = x + o(attention(rope(norm_qk(q)), rope(norm_qk(k)), v));   (q, k, v of norm1(x))
 *                    x = x + mlp(norm2(x))     GPT-2: c_proj(act(c_fc)); Llama: down(act(gate) * up)
 *   h = norm(x);  head(h)
 *
 * Heads: `language` (lm_head, or the embedding when tied; logits (B, T, V)), `value` (`score` with one output,
 * one scalar per token (B, T), as TRL's PPO value model), `reward` (`score` (labels, D) read at one token per
 * row). Weights live in one flat Float32Array under transformers' names (layout: models/hf/weight-map.ts).
 *
 * Inputs may be left-padded: keys at pad slots are masked, and position ids default to the rule `generate()`
 * uses, cumsum(mask) - 1 with pads at 1, so a padded row computes what the row alone computes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, PosttrainError } from '../../runtime/errors.ts';
import type { CausalModelShape } from '../causal-model.ts';
import { DecoderBase } from '../decoder-base.ts';
import type { FlatParameters } from '../flat-parameters.ts';
import type { HeadKind, TokenBatch } from '../gpt.ts';
import { hostKernelsAvailable } from '../kernels/host-kernel.ts';
import { KVCache } from '../kv-cache.ts';
import { blasMatMulActive } from '../kernels/blas/blas-matmul.ts';
import { gatherRows } from '../ops/gather-rows.ts';
import { activationFunction } from '../ops/activation.ts';
import { fusedGroupedAttention } from '../ops/fused-grouped-attention.ts';
import { attentionBias, groupedAttention } from '../ops/grouped-attention.ts';
import { layerNorm } from '../ops/layer-norm.ts';
import { linear, linearNoBias } from '../ops/linear.ts';
import { rmsNorm } from '../ops/rms-norm.ts';
import { applyRope, ropeInverseFrequencies, ropeTables } from '../ops/rope.ts';
import { Rng } from '../rng.ts';
import type { DecoderSpec } from './hf-config.ts';
import { flatLayout, loadWeights, type WeightEntry, weightEntries } from './weight-map.ts';

/** A token batch with optional explicit position ids (transformers' `position_ids`). */
export interface DecoderBatch extends TokenBatch {
  /** (B, T) position of each token; default cumsum(mask) - 1 with pads at 1. */
  positionIds?: Int32Array;
}

/**
 * What adapters (LoRA, models/lora/) add to the frozen weights. A LoraModel sets `HfDecoder.adapter` for the
 * duration of each of its calls, so one loaded base serves adapted and plain (reference) callers alike.
 */
export interface DecoderAdapter {
  /** (N, out) the output of linear layer `module` given its input x (N, in) and the frozen layer's `output`. */
  project(module: string, x: tf.Tensor2D, output: tf.Tensor2D): tf.Tensor2D;
  /** A trained tensor used in place of the frozen parameter `name` (a classifier's head), or undefined. */
  replacement(name: string): tf.Tensor | undefined;
}

export interface DecoderOptions {
  /** Which output the model computes (default: `language` for causal LMs, `reward` for classifiers). */
  head?: HeadKind;
  /** Seed for weights the checkpoint lacks (a fresh `score` head) or for a freshly initialised model. */
  seed?: number;
}

/**
 * @example
 * const model = HfDecoder.fromTensors(spec, readSafetensorsFolder(dir), { source: dir });
 * const logits = model.logits({ tokens, batchSize: 2, length: 8, attentionMask }); // (2, 8, V)
 */
export class HfDecoder extends DecoderBase<DecoderBatch> {
  readonly spec: DecoderSpec;
  readonly config: CausalModelShape;
  readonly head: HeadKind;
  readonly parameters: FlatParameters;
  /** Every tensor's transformers name, file shape and whether the flat buffer holds it transposed. */
  readonly weightEntries: WeightEntry[];
  private readonly inverseFrequencies: Float32Array | undefined;
  private readonly activation: (x: tf.Tensor2D) => tf.Tensor2D;
  /** (D, V) the tied embedding transposed, kept for inference (rebuilt in `refresh`). */
  private tiedOutput: tf.Tensor2D | undefined;
  /** Adapters applied on top of the weights during a call (see DecoderAdapter); undefined: the weights alone. */
  adapter: DecoderAdapter | undefined;

  /**
   * A freshly initialised model (transformers' `_init_weights`: normal(0, initializer_range), norms 1, biases 0).
   * @param fresh false: leave the weights zero for `fromTensors` to fill (drawing 100M+ normals it would overwrite
   *   was most of a role's start-up)
   */
  constructor(spec: DecoderSpec, options: DecoderOptions = {}, fresh = true) {
    super();
    this.spec = spec;
    this.config = { vocabSize: spec.vocabSize, contextLength: spec.maxPositions };
    this.head = options.head ?? (spec.task === 'causal-lm' ? 'language' : 'reward');
    if (this.head === 'language' && spec.task !== 'causal-lm' && !spec.tieWordEmbeddings) {
      // A classifier file has no lm_head; a language head would start random.
      throw new ConfigError([{ path: 'model.head', message: `is 'language' but ${spec.architecture} has no language-model head; allowed: 'reward' or 'value' (or load a *ForCausalLM checkpoint)` }]);
    }
    this.weightEntries = weightEntries(spec, this.head);
    this.parameters = flatLayout(this.weightEntries);
    this.inverseFrequencies = spec.rope ? ropeInverseFrequencies(spec.headDim, spec.rope) : undefined;
    this.activation = activationFunction(spec.activation);
    if (fresh) initialise(this.parameters, spec, new Rng(options.seed ?? 0));
  }

  /**
   * Builds the model from a checkpoint's tensors (see `loadWeights` for the checks).
   * @param source the folder, for error messages
   */
  static fromTensors(spec: DecoderSpec, tensors: Map<string, { shape: number[]; data: Float32Array }>, options: DecoderOptions & { source?: string } = {}): HfDecoder {
    const model = new HfDecoder(spec, options, false);
    loadWeights(model.parameters, model.weightEntries, tensors, { head: model.head, spec, source: options.source ?? spec.architecture, seed: options.seed });
    return model;
  }

  /** Also drops the transposed tied embedding kept for inference. */
  override refresh(): void {
    super.refresh();
    this.tiedOutput?.dispose();
    this.tiedOutput = undefined;
  }

  /** Reward at each row's last real token (last position whose mask is 1); needs one label. @returns (B) */
  scores(batch: DecoderBatch): tf.Tensor1D {
    if (this.head === 'reward' && this.spec.numLabels > 1) {
      throw new PosttrainError('MODEL_HEAD', `scores() returns one number per row; this classifier has ${this.spec.numLabels} labels (use pooledScores)`, { path: 'model.head' });
    }
    return tf.tidy(() => tf.reshape(this.pooledScores(batch, this.lastRealPositions(batch)), [batch.batchSize]) as tf.Tensor1D);
  }

  /**
   * The `score` head read at one position per row.
   * @param positions (B) the position read in each row
   * @returns (B, labels)
   */
  pooledScores(batch: DecoderBatch, positions: Int32Array): tf.Tensor2D {
    this.expectHead('reward', 'pooledScores');
    const { batchSize, length } = batch;
    return tf.tidy(() => {
      const hidden = tf.reshape(this.hiddenStates(batch, undefined, 0), [batchSize * length, this.spec.hiddenSize]) as tf.Tensor2D;
      const picked = gatherRows(hidden, tf.tensor1d(Int32Array.from(positions, (position, b) => b * length + position), 'int32'));
      return tf.reshape(this.applyHead(tf.expandDims(picked, 0) as tf.Tensor3D), [batchSize, -1]) as tf.Tensor2D;
    });
  }

  protected get layerCount(): number {
    return this.spec.layers;
  }

  /** (B, T', D) final-norm hidden states of positions startPosition.. of the new tokens. */
  protected hiddenStates(batch: DecoderBatch, cache: KVCache | undefined, startPosition: number): tf.Tensor3D {
    const { batchSize, length } = batch;
    const { hiddenSize, heads, kvHeads, headDim, layers } = this.spec;
    const mask = this.checkBatch(batch, cache);
    const past = cache?.length ?? 0;
    const rows = batchSize * length;
    const positions = cache ? cache.appendMask(mask, length) : batch.positionIds ?? generatePositionIds(mask, batchSize, length);
    for (const position of positions) {
      if (position < 0 || position >= this.spec.maxPositions) {
        throw new PosttrainError('INPUT_POSITION', `position id ${position} is outside [0, ${this.spec.maxPositions}) (max_position_embeddings / n_positions)`, { path: 'batch.positionIds' });
      }
    }
    const parameter = this.parameterGetter();
    const attend = this.attention(cache ? cache.keyMask : mask, batchSize, past, length, cache ? cache.capacity : length);
    const rope = this.inverseFrequencies ? ropeTables(positions, this.inverseFrequencies) : undefined;
    const cos = rope && tf.tensor3d(rope.cos, [rows, 1, headDim]);
    const sin = rope && tf.tensor3d(rope.sin, [rows, 1, headDim]);
    const rotate = (x: tf.Tensor2D, headCount: number): tf.Tensor2D =>
      cos && sin ? (tf.reshape(applyRope(tf.reshape(x, [rows, headCount, headDim]) as tf.Tensor3D, cos, sin), [rows, headCount * headDim]) as tf.Tensor2D) : x;
    const names = this.spec.family === 'gpt2' ? GPT2_NAMES : LLAMA_NAMES;

    /** (B*T, D) residual stream */
    let x = gatherRows(parameter(names.embedding) as tf.Tensor2D, tf.tensor1d(batch.tokens, 'int32'));
    if (this.spec.family === 'gpt2') x = tf.add(x, gatherRows(parameter('transformer.wpe.weight') as tf.Tensor2D, tf.tensor1d(positions, 'int32')));
    for (let layer = 0; layer < layers; layer++) {
      const prefix = `${names.layers}.${layer}`;
      const normed = this.norm(x, `${prefix}.${names.norm1}`);
      let { query, key, value } = this.projectQkv(normed, prefix);
      if (this.spec.qkNorm) {
        query = this.headNorm(query, `${prefix}.self_attn.q_norm.weight`, heads);
        key = this.headNorm(key, `${prefix}.self_attn.k_norm.weight`, kvHeads);
      }
      query = rotate(query, heads);
      key = rotate(key, kvHeads);
      /** (B, T, 2 * Hkv * d) key | value of the new tokens (what the cache stores) */
      const newKeyValues = tf.reshape(tf.concat([key, value], 1), [batchSize, length, 2 * kvHeads * headDim]) as tf.Tensor3D;
      const attended = attend(tf.reshape(query, [batchSize, length, heads * headDim]) as tf.Tensor3D, newKeyValues, cache?.keyValues(layer));
      cache?.append(layer, newKeyValues);
      x = tf.add(x, this.project(tf.reshape(attended, [rows, heads * headDim]) as tf.Tensor2D, `${prefix}.${names.output}`));
      x = tf.add(x, this.mlp(this.norm(x, `${prefix}.${names.norm2}`), prefix));
    }
    cache?.commit(length);
    let states = tf.reshape(x, [batchSize, length, hiddenSize]) as tf.Tensor3D;
    if (startPosition > 0) states = tf.slice(states, [0, startPosition, 0], [batchSize, length - startPosition, hiddenSize]);
    return this.norm(states, names.finalNorm);
  }

  /**
   * The attention of one step's layers: (query (B, T, Hq*d), new key | value (B, T, 2*Hkv*d), cached key | value
   * (B, P, 2*Hkv*d)) -> (B, T, Hq*d).
   *
   * On wasm/cpu it is one SIMD kernel (ops/fused-grouped-attention.ts; 8x the composed ops forward, 6.8x forward +
   * backward at Qwen2.5-0.5B's attention shape, `npm run bench -- hf-attention`); elsewhere the composed ops.
   * @param keyMask (B, keyStride) 1 for real key slots
   */
  private attention(keyMask: Int32Array, batchSize: number, past: number, length: number, keyStride: number) {
    const { heads, kvHeads } = this.spec;
    const keyCount = past + length;
    if (!hostKernelsAvailable()) {
      const bias = tf.tensor4d(attentionBias(keyMask, batchSize, past, length, keyStride), [batchSize, 1, length, keyCount]);
      return (query: tf.Tensor3D, newKeyValues: tf.Tensor3D, cached: tf.Tensor3D | undefined): tf.Tensor3D => {
        const keyValues = cached ? tf.concat([cached, newKeyValues], 1) : newKeyValues;
        const [keys, values] = tf.split(keyValues, 2, 2) as [tf.Tensor3D, tf.Tensor3D];
        return groupedAttention(query, keys, values, bias, { heads, kvHeads });
      };
    }
    const realKeys = new Float32Array(batchSize * keyCount);
    for (let b = 0; b < batchSize; b++) for (let j = 0; j < keyCount; j++) realKeys[b * keyCount + j] = keyMask[b * keyStride + j] !== 0 ? 1 : 0;
    const keyMaskTensor = tf.tensor2d(realKeys, [batchSize, keyCount]);
    return (query: tf.Tensor3D, newKeyValues: tf.Tensor3D, cached: tf.Tensor3D | undefined): tf.Tensor3D =>
      fusedGroupedAttention(query, newKeyValues, keyMaskTensor, { heads, kvHeads, cache: cached });
  }

  /** q (N, Hq*d), k and v (N, Hkv*d) of the normed stream. */
  private projectQkv(normed: tf.Tensor2D, prefix: string): { query: tf.Tensor2D; key: tf.Tensor2D; value: tf.Tensor2D } {
    if (this.spec.family === 'gpt2') {
      const fused = this.project(normed, `${prefix}.attn.c_attn`);
      const [query, key, value] = tf.split(fused, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      return { query, key, value };
    }
    return {
      query: this.project(normed, `${prefix}.self_attn.q_proj`),
      key: this.project(normed, `${prefix}.self_attn.k_proj`),
      value: this.project(normed, `${prefix}.self_attn.v_proj`),
    };
  }

  private mlp(normed: tf.Tensor2D, prefix: string): tf.Tensor2D {
    if (this.spec.family === 'gpt2') return this.project(this.activation(this.project(normed, `${prefix}.mlp.c_fc`)), `${prefix}.mlp.c_proj`);
    const gate = this.activation(this.project(normed, `${prefix}.mlp.gate_proj`));
    return this.project(tf.mul(gate, this.project(normed, `${prefix}.mlp.up_proj`)) as tf.Tensor2D, `${prefix}.mlp.down_proj`);
  }

  /** `x @ <name>.weight (+ <name>.bias when the layout has one)`. */
  private project(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const parameter = this.parameterGetter();
    const weight = parameter(`${name}.weight`) as tf.Tensor2D;
    const output = this.ensureTensors().has(`${name}.bias`) ? linear(x, weight, parameter(`${name}.bias`) as tf.Tensor1D) : linearNoBias(x, weight);
    return this.adapter ? this.adapter.project(name, x, output) : output;
  }

  private norm<T extends tf.Tensor>(x: T, name: string): T {
    const parameter = this.parameterGetter();
    if (this.spec.norm === 'layer-norm') return layerNorm(x, parameter(`${name}.weight`) as tf.Tensor1D, parameter(`${name}.bias`) as tf.Tensor1D, this.spec.normEpsilon);
    return rmsNorm(x, parameter(`${name}.weight`) as tf.Tensor1D, this.spec.normEpsilon);
  }

  /** Qwen3's q_norm / k_norm: RMSNorm over each head of (N, H*d). */
  private headNorm(x: tf.Tensor2D, name: string, headCount: number): tf.Tensor2D {
    const [rows] = x.shape;
    const perHead = rmsNorm(tf.reshape(x, [rows, headCount, this.spec.headDim]), this.parameterGetter()(name) as tf.Tensor1D, this.spec.normEpsilon);
    return tf.reshape(perHead, [rows, headCount * this.spec.headDim]) as tf.Tensor2D;
  }

  /** (B, T, D) -> (B, T, width) */
  protected applyHead(hidden: tf.Tensor3D): tf.Tensor3D {
    const [batchSize, length, hiddenSize] = hidden.shape;
    const flat = tf.reshape(hidden, [batchSize * length, hiddenSize]) as tf.Tensor2D;
    if (this.head === 'language' && this.spec.tieWordEmbeddings && blasMatMulActive()) {
      // Tied head with OpenBLAS: x @ embedding^T as a transposed product, so no (D, V) copy is kept for
      // inference and none is made in the forward or backward of training (113 MB each at SmolLM2's vocabulary).
      const embedding = this.parameterGetter()(this.spec.family === 'gpt2' ? GPT2_NAMES.embedding : LLAMA_NAMES.embedding) as tf.Tensor2D;
      return tf.reshape(tf.matMul(flat, embedding, false, true), [batchSize, length, -1]) as tf.Tensor3D;
    }
    return tf.reshape(linearNoBias(flat, this.outputWeight()), [batchSize, length, -1]) as tf.Tensor3D;
  }

  /** (D, width): lm_head, the tied embedding transposed, or score. */
  private outputWeight(): tf.Tensor2D {
    const parameter = this.parameterGetter();
    if (this.head !== 'language') return parameter('score.weight') as tf.Tensor2D;
    if (!this.spec.tieWordEmbeddings) return parameter('lm_head.weight') as tf.Tensor2D;
    const embedding = parameter(this.spec.family === 'gpt2' ? GPT2_NAMES.embedding : LLAMA_NAMES.embedding);
    // Under a gradient tape the transpose must be recorded so the output gradient reaches the embedding; for
    // inference one kept copy serves every decode step.
    if (tf.engine().isTapeOn()) return tf.transpose(embedding) as tf.Tensor2D;
    this.tiedOutput ??= tf.keep(tf.transpose(embedding) as tf.Tensor2D);
    return this.tiedOutput;
  }

  private checkBatch(batch: DecoderBatch, cache: KVCache | undefined): Int32Array {
    const { batchSize, length, tokens } = batch;
    if (tokens.length !== batchSize * length) {
      throw new PosttrainError('INPUT_SHAPE', `tokens has ${tokens.length} ids, expected batchSize*length = ${batchSize}*${length}`, { path: 'batch.tokens' });
    }
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (!Number.isInteger(token) || token < 0 || token >= this.spec.vocabSize) {
        throw new PosttrainError('INPUT_TOKEN', `token id ${token} at index ${i} is outside the vocabulary [0, ${this.spec.vocabSize})`, { path: 'batch.tokens' });
      }
    }
    const mask = batch.attentionMask ?? new Int32Array(batchSize * length).fill(1);
    if (mask.length !== batchSize * length) {
      throw new PosttrainError('INPUT_SHAPE', `attentionMask has ${mask.length} entries, expected batchSize*length = ${batchSize}*${length}`, { path: 'batch.attentionMask' });
    }
    if (batch.positionIds && batch.positionIds.length !== batchSize * length) {
      throw new PosttrainError('INPUT_SHAPE', `positionIds has ${batch.positionIds.length} entries, expected batchSize*length = ${batchSize}*${length}`, { path: 'batch.positionIds' });
    }
    if (cache && cache.length + length > cache.capacity) {
      throw new PosttrainError('INPUT_TOO_LONG', `sequence of ${cache.length + length} tokens exceeds the cache's capacity ${cache.capacity}`, { path: 'batch.length' });
    }
    return mask;
  }

  private parameterGetter(): (name: string) => tf.Tensor {
    const tensors = this.ensureTensors();
    return (name) => {
      const tensor = this.adapter?.replacement(name) ?? tensors.get(name);
      if (!tensor) throw new Error(`HfDecoder: no parameter ${name} in the layout of ${this.spec.architecture}`);
      return tensor;
    };
  }
}

/** Module names per family, in one place. */
const GPT2_NAMES = { embedding: 'transformer.wte.weight', layers: 'transformer.h', norm1: 'ln_1', norm2: 'ln_2', output: 'attn.c_proj', finalNorm: 'transformer.ln_f' };
const LLAMA_NAMES = { embedding: 'model.embed_tokens.weight', layers: 'model.layers', norm1: 'input_layernorm', norm2: 'post_attention_layernorm', output: 'self_attn.o_proj', finalNorm: 'model.norm' };

/**
 * Position ids as transformers' `generate()` computes them: cumsum(mask) - 1, with pad slots set to 1.
 * @returns (B, T)
 *
 * @example
 * generatePositionIds(new Int32Array([0, 0, 1, 1]), 1, 4); // [1, 1, 0, 1]
 */
export function generatePositionIds(mask: Int32Array, batchSize: number, length: number): Int32Array {
  const positions = new Int32Array(batchSize * length);
  for (let b = 0; b < batchSize; b++) {
    let count = 0;
    for (let t = 0; t < length; t++) {
      const real = mask[b * length + t] !== 0;
      if (real) count++;
      positions[b * length + t] = real ? count - 1 : 1;
    }
  }
  return positions;
}

/** transformers' `_init_weights`: matrices and embeddings normal(0, initializer_range), the pad row 0, norms 1, biases 0. */
function initialise(parameters: FlatParameters, spec: DecoderSpec, rng: Rng): void {
  const std = typeof spec.raw.initializer_range === 'number' ? spec.raw.initializer_range : 0.02;
  for (const entry of parameters.manifest.entries) {
    const view = parameters.view(entry.name);
    if (entry.shape.length === 2) for (let i = 0; i < view.length; i++) view[i] = std * rng.normal();
    else view.fill(/norm|ln_/.test(entry.name) && entry.name.endsWith('.weight') ? 1 : 0);
    if (spec.padTokenId !== undefined && /embed_tokens|wte/.test(entry.name) && spec.padTokenId < spec.vocabSize) {
      view.fill(0, spec.padTokenId * spec.hiddenSize, (spec.padTokenId + 1) * spec.hiddenSize);
    }
  }
}
