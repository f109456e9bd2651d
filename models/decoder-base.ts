/**
 * What the bench-S GPT (models/gpt.ts) and a Hugging Face decoder (models/hf/decoder.ts) share around their own
 * layers: the flat weights and the tensors built from them, the heads read off the final hidden states, and
 * incremental decoding through a KV cache. A subclass supplies only its hidden states, its head and its layer count.
 *
 * @example
 * class MyDecoder extends DecoderBase {
 *   protected hiddenStates(batch, cache, startPosition) { ... } // (B, T', D)
 *   protected applyHead(hidden) { ... }                          // (B, T', width)
 *   protected get layerCount() { return 2; }
 * }
 */
import * as tf from '@tensorflow/tfjs-core';
import { PosttrainError } from '../runtime/errors.ts';
import type { CausalModel, CausalModelShape } from './causal-model.ts';
import type { FlatParameters } from './flat-parameters.ts';
import type { HeadKind, TokenBatch } from './gpt.ts';
import { KVCache } from './kv-cache.ts';
import { keptTensorsOf } from './parameter-tensors.ts';

/** `Batch`: what the subclass's calls take (a Hugging Face decoder's also carries explicit position ids). */
export abstract class DecoderBase<Batch extends TokenBatch = TokenBatch> implements CausalModel {
  abstract readonly config: CausalModelShape;
  abstract readonly head: HeadKind;
  abstract readonly parameters: FlatParameters;
  /** The parameter tensors by name, built from the flat buffer on first use and dropped by `refresh()`. */
  private tensors: Map<string, tf.Tensor> | undefined;

  /** (B, T', D) final-norm hidden states of positions startPosition.. of the batch (appended to `cache` when given). */
  protected abstract hiddenStates(batch: Batch, cache: KVCache | undefined, startPosition: number): tf.Tensor3D;
  /** (B, T, D) -> (B, T, head width) */
  protected abstract applyHead(hidden: tf.Tensor3D): tf.Tensor3D;
  /** Transformer layers: one KV-cache slot each. */
  protected abstract get layerCount(): number;

  /** Copies a flat buffer (same manifest) into the model and rebuilds its tensors. */
  loadFlat(buffer: Float32Array): void {
    this.parameters.load(buffer);
    this.refresh();
  }

  /** Rebuilds the tfjs tensors from the flat buffer; call after writing `parameters.data` in place. */
  refresh(): void {
    for (const tensor of this.tensors?.values() ?? []) tensor.dispose();
    this.tensors = undefined;
  }

  /** The parameter tensors in manifest order (built on first use; owned by the model). */
  parameterTensors(): tf.Tensor[] {
    const tensors = this.ensureTensors();
    return this.parameters.manifest.entries.map((entry) => tensors.get(entry.name)!);
  }

  /** Frees the tfjs tensors (the flat buffer stays). */
  dispose(): void {
    this.refresh();
  }

  /**
   * Language-model logits for every position (or from `startPosition` on).
   * @returns (B, T - startPosition, V)
   */
  logits(batch: Batch, options: { startPosition?: number } = {}): tf.Tensor3D {
    this.expectHead('language', 'logits');
    return tf.tidy(() => this.applyHead(this.hiddenStates(batch, undefined, options.startPosition ?? 0)));
  }

  /**
   * Value head: one scalar per position (or from `startPosition` on).
   * @returns (B, T - startPosition)
   */
  values(batch: Batch, options: { startPosition?: number } = {}): tf.Tensor2D {
    this.expectHead('value', 'values');
    return tf.tidy(() => tf.squeeze(this.applyHead(this.hiddenStates(batch, undefined, options.startPosition ?? 0)), [2]) as tf.Tensor2D);
  }

  /** Reward head at each row's last real token. @returns (B) */
  abstract scores(batch: Batch): tf.Tensor1D;

  /**
   * Runs a left-padded prompt batch and returns a cache for incremental decoding plus the head output at the
   * last position of each row.
   * @returns output (B, head width) for the last slot; the cache owns its tensors (dispose it).
   */
  prefill(batch: Batch, capacity = this.config.contextLength): { output: tf.Tensor2D; cache: KVCache } {
    const cache = new KVCache(batch.batchSize, capacity, this.layerCount);
    const output = this.step(batch, cache);
    return { output, cache };
  }

  /**
   * Appends one token per row to the cache and returns the head output for it.
   * @param tokens (B) the new tokens
   * @param mask (B) 1 when the new token is real, 0 for padding after a finished row (default all 1)
   * @returns (B, head width)
   */
  decode(tokens: Int32Array, cache: KVCache, mask?: Int32Array): tf.Tensor2D {
    // Every batch type's other fields are optional: the new tokens alone are a valid batch of it.
    return this.step({ tokens, batchSize: cache.batchSize, length: 1, attentionMask: mask } as Batch, cache);
  }

  /** The parameter tensors by name (built on first use). */
  protected ensureTensors(): Map<string, tf.Tensor> {
    this.tensors ??= keptTensorsOf(this.parameters);
    return this.tensors;
  }

  /** Refuses a call for another head, naming both. */
  protected expectHead(head: HeadKind, method: string): void {
    if (this.head !== head) {
      throw new PosttrainError('MODEL_HEAD', `${method}() needs a '${head}' head; this model has a '${this.head}' head`, { path: 'model.head' });
    }
  }

  /** (B) the position of each row's last real token: the last position whose mask is 1 (what the reward head reads). */
  protected lastRealPositions(batch: TokenBatch): Int32Array {
    const { batchSize, length } = batch;
    const positions = new Int32Array(batchSize);
    for (let b = 0; b < batchSize; b++) {
      let last = length - 1;
      if (batch.attentionMask) while (last > 0 && batch.attentionMask[b * length + last] === 0) last--;
      positions[b] = last;
    }
    return positions;
  }

  /** Runs new tokens through the cache; the head output of each row's last new slot, (B, head width). */
  private step(batch: Batch, cache: KVCache): tf.Tensor2D {
    return tf.tidy(() => tf.reshape(this.applyHead(this.hiddenStates(batch, cache, batch.length - 1)), [batch.batchSize, -1]) as tf.Tensor2D);
  }
}
