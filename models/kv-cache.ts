/**
 * Keys and values of every layer for the tokens decoded so far, so each new token costs one position of work
 * instead of re-running the whole prefix. Also tracks, per row, which cached slots are real tokens (the key
 * mask) and how many real tokens came before (the next position id).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * @example
 * const { output, cache } = model.prefill(prompts);
 * const next = model.decode(tokens, cache);
 * cache.dispose();
 */
export class KVCache {
  readonly batchSize: number;
  /** Most slots the cache can hold (the model's context length by default). */
  readonly capacity: number;
  /** (B, capacity) 1 where a cached slot holds a real token, row stride `capacity`. */
  readonly keyMask: Int32Array;
  /** Slots filled so far (the same for every row; padding fills slots too). */
  length = 0;
  private readonly realTokens: Int32Array;
  private readonly layers: { keys?: tf.Tensor3D; values?: tf.Tensor3D }[];

  constructor(batchSize: number, capacity: number, layerCount: number) {
    this.batchSize = batchSize;
    this.capacity = capacity;
    this.keyMask = new Int32Array(batchSize * capacity);
    this.realTokens = new Int32Array(batchSize);
    this.layers = Array.from({ length: layerCount }, () => ({}));
  }

  /**
   * Records the mask of `count` new slots per row and returns their position ids, continuing each row's count
   * of real tokens: a real token gets the number of real tokens before it; padding repeats the previous id
   * (`max(cumsum(mask) - 1, 0)` over the whole row, computed incrementally).
   * @param mask (B, count)
   * @returns (B, count) position ids
   */
  appendMask(mask: Int32Array, count: number): Int32Array {
    const positions = new Int32Array(this.batchSize * count);
    for (let b = 0; b < this.batchSize; b++) {
      let real = this.realTokens[b]!;
      for (let t = 0; t < count; t++) {
        const isReal = mask[b * count + t] !== 0;
        this.keyMask[b * this.capacity + this.length + t] = isReal ? 1 : 0;
        positions[b * count + t] = isReal ? real : Math.max(real - 1, 0);
        if (isReal) real++;
      }
      this.realTokens[b] = real;
    }
    return positions;
  }

  /**
   * Appends a layer's new keys/values (B, T, D) and returns the full cached ones (B, S, D). The cache keeps
   * (tf.keep) what it stores and frees what it replaces.
   */
  append(layer: number, keys: tf.Tensor3D, values: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
    const slot = this.layers[layer]!;
    const allKeys = slot.keys ? tf.concat([slot.keys, keys], 1) : tf.clone(keys);
    const allValues = slot.values ? tf.concat([slot.values, values], 1) : tf.clone(values);
    slot.keys?.dispose();
    slot.values?.dispose();
    slot.keys = tf.keep(allKeys);
    slot.values = tf.keep(allValues);
    return [allKeys, allValues];
  }

  /** Marks `count` slots as filled (after every layer appended them). */
  commit(count: number): void {
    this.length += count;
  }

  /** Number of real tokens seen so far per row. */
  realTokenCounts(): Int32Array {
    return this.realTokens.slice();
  }

  dispose(): void {
    for (const slot of this.layers) {
      slot.keys?.dispose();
      slot.values?.dispose();
      slot.keys = undefined;
      slot.values = undefined;
    }
  }
}
