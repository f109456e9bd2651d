/**
 * What trainers, roles and rollout need from a decoder, whichever architecture computes it: the bench-S GPT
 * (models/gpt.ts) or a Hugging Face checkpoint's decoder (models/hf/decoder.ts). Both keep their weights in one
 * flat Float32Array (the unit the runtime moves) and expose the same heads.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { FlatParameters } from './flat-parameters.ts';
import type { HeadKind, TokenBatch } from './gpt.ts';
import type { KVCache } from './kv-cache.ts';

/** The sizes callers read off any model. */
export interface CausalModelShape {
  /** Number of token ids. */
  vocabSize: number;
  /** Longest sequence (prompt + generated) the model accepts. */
  contextLength: number;
}

/**
 * @example
 * function greedyStep(model: CausalModel, prompts: TokenBatch) {
 *   const { output, cache } = model.prefill(prompts); // output (B, V)
 *   ...
 * }
 */
export interface CausalModel {
  readonly config: CausalModelShape;
  readonly head: HeadKind;
  /** The weights (source of truth); tensors are rebuilt from it by `refresh()`. */
  readonly parameters: FlatParameters;
  /** The parameter tensors in manifest order (what gradients are taken against). */
  parameterTensors(): tf.Tensor[];
  /** Rebuilds the tensors after `parameters.data` was written in place. */
  refresh(): void;
  /** Copies a flat buffer of the same layout in and refreshes. */
  loadFlat(buffer: Float32Array): void;
  /** (B, T - startPosition, V) language-model logits. */
  logits(batch: TokenBatch, options?: { startPosition?: number }): tf.Tensor3D;
  /** (B, T - startPosition) value head, one scalar per token. */
  values(batch: TokenBatch, options?: { startPosition?: number }): tf.Tensor2D;
  /** (B) reward head at each row's last real token. */
  scores(batch: TokenBatch): tf.Tensor1D;
  /** Runs left-padded prompts; the head output at each row's last slot (B, width) and a cache to decode from. */
  prefill(batch: TokenBatch, capacity?: number): { output: tf.Tensor2D; cache: KVCache };
  /** One new token per row through the cache; (B, width). */
  decode(tokens: Int32Array, cache: KVCache, mask?: Int32Array): tf.Tensor2D;
  /** Frees the tensors (the flat buffer stays). */
  dispose(): void;
}
