/**
 * Root-mean-square layer normalisation (Zhang & Sennrich 2019, Eq. 4), as transformers' `LlamaRMSNorm`:
 *   y = weight * x / sqrt(mean(x^2) + eps)
 * over the last axis, in float32. No mean is subtracted and there is no bias. Composed from tfjs ops, so tfjs
 * differentiates it on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * (..., D) x (D) -> (..., D).
 *
 * @example
 * rmsNorm(tf.tensor2d([[3, 4]]), tf.ones([2]), 0); // [[0.8485, 1.1314]]
 */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, epsilon: number): T {
  const width = x.shape[x.rank - 1];
  if (weight.shape[0] !== width) throw new Error(`rmsNorm: weight has ${weight.shape[0]} entries, x's last axis ${width}`);
  return tf.tidy(() => {
    const meanSquare = tf.mean(tf.square(x), -1, true);
    return tf.mul(weight, tf.mul(x, tf.rsqrt(tf.add(meanSquare, epsilon)))) as T;
  });
}
