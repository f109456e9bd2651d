/**
 * Scaled dot-product attention (Vaswani et al. 2017, Eq. 1): `softmax(q k^T / sqrt(d) + bias) v`, where `bias`
 * is 0 for allowed (query, key) pairs and -1e9 for masked ones (future keys, padding). A finite -1e9 instead of
 * -inf keeps a query whose keys are all masked (a left-pad slot) finite: it averages the values uniformly and
 * its output is ignored downstream.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Added to the scores of masked pairs. exp(-1e9 - max) is exactly 0 in float32. */
export const MASKED_SCORE = -1e9;

/**
 * q (B, H, T, hd), key/value (B, H, S, hd), bias (B, 1, T, S) -> (B, H, T, hd).
 *
 * @example
 * const out = attention(q, k, v, tf.zeros([1, 1, 3, 3])); // full (unmasked) attention
 */
export function attention(query: tf.Tensor4D, key: tf.Tensor4D, value: tf.Tensor4D, bias: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const headSize = query.shape[3];
    /** (B, H, T, S) */
    const scores = tf.add(tf.matMul(tf.mul(query, 1 / Math.sqrt(headSize)), key, false, true), bias);
    return tf.matMul(tf.softmax(scores), value) as tf.Tensor4D;
  });
}

/**
 * Builds the additive mask for `queryCount` new tokens that follow `pastLength` cached ones: query i (slot
 * pastLength + i) may see key j when j <= pastLength + i and key j is a real token.
 *
 * @param keyMask (B, S) 1 for real keys, 0 for padding, row-major with row stride `keyStride`
 * @returns (B, 1, T, S) float32 values 0 or MASKED_SCORE
 */
export function attentionBias(
  batchSize: number,
  queryCount: number,
  pastLength: number,
  keyMask: Int32Array,
  keyStride: number,
): tf.Tensor4D {
  const keyCount = pastLength + queryCount;
  const bias = new Float32Array(batchSize * queryCount * keyCount);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < queryCount; i++) {
      const row = (b * queryCount + i) * keyCount;
      for (let j = 0; j < keyCount; j++) {
        bias[row + j] = j <= pastLength + i && keyMask[b * keyStride + j] !== 0 ? 0 : MASKED_SCORE;
      }
    }
  }
  return tf.tensor4d(bias, [batchSize, 1, queryCount, keyCount]);
}
