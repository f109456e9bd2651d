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
  /** Per layer, (B, S, 2D): key | value of every cached slot. */
  private readonly layers: (tf.Tensor3D | undefined)[];

  constructor(batchSize: number, capacity: number, layerCount: number) {
    this.batchSize = batchSize;
    this.capacity = capacity;
    this.keyMask = new Int32Array(batchSize * capacity);
    this.realTokens = new Int32Array(batchSize);
    this.layers = new Array<tf.Tensor3D | undefined>(layerCount).fill(undefined);
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

  /** A layer's cached key | value (B, S, 2D) before this step, or undefined when nothing is cached yet. */
  keyValues(layer: number): tf.Tensor3D | undefined {
    return this.layers[layer];
  }

  /**
   * Appends a layer's new key | value rows (B, T, 2D). The cache keeps (tf.keep) what it stores and frees what
   * it replaces.
   */
  append(layer: number, keyValues: tf.Tensor3D): void {
    const previous = this.layers[layer];
    this.layers[layer] = tf.keep(previous ? tf.concat([previous, keyValues], 1) : tf.clone(keyValues));
    previous?.dispose();
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
    for (let layer = 0; layer < this.layers.length; layer++) {
      this.layers[layer]?.dispose();
      this.layers[layer] = undefined;
    }
  }
}
