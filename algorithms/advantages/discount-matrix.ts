/**
 * Discounted suffix sums as one matrix product: for x (B, T), `x @ M` with M[s, t] = factor^(s - t) for s >= t
 * (else 0) gives y_t = sum_{s >= t} factor^(s - t) x_s. This is the backward recursion y_t = x_t + factor *
 * y_{t+1} (y_T = 0) unrolled, computed in one kernel instead of T sequential steps.
 */
import * as tf from '@tensorflow/tfjs-core';

/** (T, T) upper-triangular (in s >= t) matrix of powers of `factor`, built in float64 then rounded once. */
export function discountMatrix(length: number, factor: number): tf.Tensor2D {
  const matrix = new Float32Array(length * length);
  for (let s = 0; s < length; s++) {
    let power = 1;
    for (let t = s; t >= 0; t--) {
      matrix[s * length + t] = power;
      power *= factor;
    }
  }
  return tf.tensor2d(matrix, [length, length]);
}

/** y_t = sum_{s >= t} factor^(s - t) x_s along the last axis of x (B, T). */
export function discountedSuffixSum(x: tf.Tensor2D, factor: number): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(x, discountMatrix(x.shape[1], factor)));
}
