/**
 * The exact GELU, `x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))` (Hendrycks & Gimpel 2016, Eq. 1), as torch's
 * `F.gelu` computes it by default (not the tanh approximation).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * @example
 * gelu(tf.tensor1d([0, 1])); // [0, 0.8413]
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T);
}
