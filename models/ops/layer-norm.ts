/**
 * Layer normalisation over the last axis (Ba et al. 2016, Eq. 4), biased variance as in torch.nn.LayerNorm.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * (..., D) -> (..., D): `(x - mean) / sqrt(var + eps) * weight + bias`.
 *
 * @example
 * layerNorm(tf.tensor2d([[1, 2, 3]]), tf.ones([3]), tf.zeros([3])); // ~[[-1.22, 0, 1.22]]
 */
export function layerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D, epsilon = 1e-5): T {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axis, true);
    const normalized = tf.mul(centered, tf.rsqrt(tf.add(variance, epsilon)));
    return tf.add(tf.mul(normalized, weight), bias) as T;
  });
}
