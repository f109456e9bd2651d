/**
 * `loadPretrained(dir)`: a Hugging Face model folder (config.json + safetensors, single file or shards, F32/F16/
 * BF16) as a model with transformers' calling conventions: `forward` returns logits shaped as transformers
 * returns them, `generate` decodes greedily with a KV cache, `save` writes a folder transformers loads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, PosttrainError } from '../../runtime/errors.ts';
import type { HeadKind } from '../gpt.ts';
import { type DecoderBatch, HfDecoder, generatePositionIds } from './decoder.ts';
import { type DecoderSpec, readDecoderSpec } from './hf-config.ts';
import { readSafetensorsFolder } from './safetensors.ts';
import { exportWeights } from './weight-map.ts';
import { hasTokenizerFiles, writeHfFolder } from './hf-folder.ts';

/** transformers' inputs: `[batch][time]` nested arrays. */
export interface ForwardInputs {
  /** [B][T] token ids. */
  inputIds: number[][];
  /** [B][T] 1 for real tokens, 0 for padding (default all 1). */
  attentionMask?: number[][];
  /** [B][T] positions (default cumsum(mask) - 1 with pads at 1, the rule of `generate()`). */
  positionIds?: number[][];
}

/** What `save` writes besides the weights (the signature of models/hf/hf-folder.ts's writeHfFolder). */
export interface SaveOptions {
  /** Element type of the safetensors (default float32). */
  dtype?: 'float32' | 'bfloat16' | 'float16';
  /** Folder whose tokenizer files are copied alongside (default: the folder the model was loaded from, if it has any). */
  tokenizerFrom?: string;
}

/**
 * A loaded checkpoint.
 *
 * @example
 * const model = await loadPretrained('../shared/fixtures/hf/qwen2');
 * const { logits } = await model.forward({ inputIds: [[5, 6, 7]] });
 * await logits.array(); // [1][3][320]
 * logits.dispose();
 */
export class PretrainedModel {
  readonly spec: DecoderSpec;
  readonly decoder: HfDecoder;
  /** The folder it was loaded from. */
  readonly directory: string | undefined;
  /** generation_config.json, when the folder has one. */
  readonly generationConfig: Record<string, unknown> | undefined;

  constructor(decoder: HfDecoder, options: { directory?: string; generationConfig?: Record<string, unknown> } = {}) {
    this.decoder = decoder;
    this.spec = decoder.spec;
    this.directory = options.directory;
    this.generationConfig = options.generationConfig;
  }

  /**
   * Causal LM: `{ logits }` (B, T, V). Sequence classification: `{ logits }` (B, labels), read where
   * transformers 4.47 reads it: the token before the first pad id in `inputIds`, wrapping to the last token
   * when there is none or it is first (so left padding reads the last position, right padding the last real token).
   */
  async forward(inputs: ForwardInputs): Promise<{ logits: tf.Tensor }> {
    const batch = toBatch(inputs);
    if (this.decoder.head === 'language') return { logits: this.decoder.logits(batch) };
    if (this.decoder.head === 'reward') return { logits: this.decoder.pooledScores(batch, this.poolingPositions(batch)) };
    return { logits: this.decoder.values(batch) };
  }

  /**
   * Greedy decoding as transformers' `generate(do_sample=False, num_beams=1)`: prompts may be left-padded; a row
   * that produced an end-of-sequence id continues with the pad id (eos when the config has none).
   * @returns sequences [B][T + N] (the inputs, padding included, then the new tokens) and newTokens [B][N]
   */
  async generate(inputs: ForwardInputs & { maxNewTokens: number; eosTokenIds?: number[]; padTokenId?: number }): Promise<{ sequences: number[][]; newTokens: number[][] }> {
    if (this.decoder.head !== 'language') throw new PosttrainError('MODEL_HEAD', `generate() needs a causal LM; ${this.spec.architecture} is a classifier`, { path: 'model.head' });
    if (!Number.isInteger(inputs.maxNewTokens) || inputs.maxNewTokens < 1) throw new ConfigError([{ path: 'maxNewTokens', message: `must be a positive integer, got ${inputs.maxNewTokens}` }]);
    const batch = toBatch(inputs);
    const { batchSize, length } = batch;
    const eos = new Set(inputs.eosTokenIds ?? this.spec.eosTokenIds);
    const pad = inputs.padTokenId ?? this.spec.padTokenId ?? this.spec.eosTokenIds[0] ?? 0;
    const newTokens: number[][] = Array.from({ length: batchSize }, () => []);
    const finished = new Array<boolean>(batchSize).fill(false);
    const { output, cache } = this.decoder.prefill(batch, length + inputs.maxNewTokens);
    let logits: tf.Tensor2D = output;
    try {
      for (let step = 0; step < inputs.maxNewTokens; step++) {
        const values = (await logits.data()) as Float32Array;
        logits.dispose();
        const next = new Int32Array(batchSize);
        for (let b = 0; b < batchSize; b++) {
          next[b] = finished[b] ? pad : argmax(values, b * this.spec.vocabSize, this.spec.vocabSize);
          if (eos.has(next[b]!)) finished[b] = true;
          newTokens[b]!.push(next[b]!);
        }
        if (step + 1 === inputs.maxNewTokens || finished.every(Boolean)) break;
        // transformers keeps extending the attention mask with ones after a row finished.
        logits = this.decoder.decode(next, cache, new Int32Array(batchSize).fill(1));
      }
    } finally {
      if (!logits.isDisposed) logits.dispose();
      cache.dispose();
    }
    return { sequences: inputs.inputIds.map((row, b) => [...row, ...newTokens[b]!]), newTokens };
  }

  /**
   * The config.json transformers writes for this model: the loaded config, with the architecture of the head
   * (a value or reward head is saved as *ForSequenceClassification with one label) and the stored dtype.
   */
  hfConfig(dtype: 'float32' | 'bfloat16' | 'float16' = 'float32'): Record<string, unknown> {
    const config: Record<string, unknown> = { ...this.spec.raw, torch_dtype: dtype };
    const base = this.spec.architecture.replace(/(ForCausalLM|ForSequenceClassification|LMHeadModel)$/, '');
    if (this.decoder.head === 'language') config.architectures = [base === 'GPT2' ? 'GPT2LMHeadModel' : `${base}ForCausalLM`];
    else {
      config.architectures = [`${base}ForSequenceClassification`];
      if (this.decoder.head === 'value' || this.spec.task !== 'sequence-classification') {
        config.id2label = { 0: 'LABEL_0' };
        config.label2id = { LABEL_0: 0 };
      }
    }
    return config;
  }

  /** The tensors under transformers' names and shapes, sorted by name. */
  hfTensors(): [string, { shape: number[]; data: Float32Array }][] {
    return exportWeights(this.decoder.parameters, this.decoder.weightEntries);
  }

  /** Writes a Hugging Face folder (config, safetensors, generation config, tokenizer files) through writeHfFolder. */
  async save(directory: string, options: SaveOptions = {}): Promise<void> {
    writeHfFolder(directory, {
      config: this.hfConfig(options.dtype),
      tensors: this.hfTensors(),
      dtype: options.dtype ?? 'float32',
      generationConfig: this.decoder.head === 'language' ? this.generationConfig : undefined,
      tokenizerFrom: options.tokenizerFrom ?? (this.directory && hasTokenizerFiles(this.directory) ? this.directory : undefined),
    });
  }

  dispose(): void {
    this.decoder.dispose();
  }

  /** transformers 4.47's pooling: argmax(input_ids == pad) - 1, modulo T; the last token without a pad id. */
  private poolingPositions(batch: DecoderBatch): Int32Array {
    const { batchSize, length, tokens } = batch;
    const positions = new Int32Array(batchSize).fill(length - 1);
    const pad = this.spec.padTokenId;
    if (pad === undefined) {
      if (batchSize > 1) throw new ConfigError([{ path: 'config.json:pad_token_id', message: `is not set, so ${this.spec.architecture} cannot pool a batch of ${batchSize} rows (as in transformers); set it, or pass one row at a time` }]);
      return positions;
    }
    for (let b = 0; b < batchSize; b++) {
      let first = 0;
      while (first < length && tokens[b * length + first] !== pad) first++;
      positions[b] = first === length ? length - 1 : (first - 1 + length) % length;
    }
    return positions;
  }
}

/**
 * Loads a model folder. `head` overrides the checkpoint's own head: `value` or `reward` on a causal LM adds a
 * fresh `score` (seeded), `language` needs a causal LM.
 *
 * @example
 * const policy = await loadPretrained('./my-model');
 * const critic = await loadPretrained('./my-reward-model', { head: 'value' });
 */
export async function loadPretrained(directory: string, options: { head?: HeadKind; seed?: number } = {}): Promise<PretrainedModel> {
  const spec = readDecoderSpec(directory);
  let tensors: ReturnType<typeof readSafetensorsFolder>;
  try {
    tensors = readSafetensorsFolder(directory);
  } catch (error) {
    // A missing, truncated or unreadable weights file is the user's input: report it as such (CLI exit 2).
    if (error instanceof PosttrainError && error.code.startsWith('MODEL_')) throw new ConfigError([{ path: error.path ?? directory, message: error.message }]);
    throw error;
  }
  const decoder = HfDecoder.fromTensors(spec, tensors, { ...options, source: directory });
  const generationPath = join(directory, 'generation_config.json');
  const generationConfig = existsSync(generationPath) ? (JSON.parse(readFileSync(generationPath, 'utf8')) as Record<string, unknown>) : undefined;
  return new PretrainedModel(decoder, { directory, generationConfig });
}

function toBatch(inputs: ForwardInputs): DecoderBatch {
  const batchSize = inputs.inputIds.length;
  const length = inputs.inputIds[0]?.length ?? 0;
  const flatten = (rows: number[][], field: string): Int32Array => {
    if (rows.length !== batchSize || rows.some((row) => row.length !== length)) {
      throw new ConfigError([{ path: field, message: `must be ${batchSize} rows of ${length} entries (the shape of inputIds)` }]);
    }
    return Int32Array.from(rows.flat());
  };
  if (batchSize === 0 || length === 0) throw new ConfigError([{ path: 'inputIds', message: 'must hold at least one row of at least one token' }]);
  const tokens = flatten(inputs.inputIds, 'inputIds');
  const attentionMask = inputs.attentionMask ? flatten(inputs.attentionMask, 'attentionMask') : new Int32Array(tokens.length).fill(1);
  const positionIds = inputs.positionIds ? flatten(inputs.positionIds, 'positionIds') : generatePositionIds(attentionMask, batchSize, length);
  return { tokens, batchSize, length, attentionMask, positionIds };
}

function argmax(values: Float32Array, offset: number, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}
