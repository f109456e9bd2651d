/**
 * The MLP activations of the Hugging Face decoders, by their names in transformers' ACT2FN:
 *   gelu:                          x * Phi(x) (exact, ops/gelu.ts)
 *   gelu_new, gelu_pytorch_tanh:   0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (Hendrycks & Gimpel 2016, Sec. 2)
 *   silu:                          x * sigmoid(x)  (Elfwing et al. 2018, Eq. 3)
 *   relu:                          max(x, 0)
 */
import * as tf from '@tensorflow/tfjs-core';
import { gelu } from './gelu.ts';

/** The activation names posttrain computes. */
export const ACTIVATIONS = ['gelu_new', 'gelu', 'gelu_pytorch_tanh', 'silu', 'relu'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/**
 * @example
 * const act = activationFunction('silu');
 * act(tf.tensor2d([[0, 1]])); // [[0, 0.7311]]
 */
export function activationFunction(name: ActivationName): (x: tf.Tensor2D) => tf.Tensor2D {
  switch (name) {
    case 'gelu':
      return gelu;
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return (x) => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))) as tf.Tensor2D);
    case 'silu':
      return (x) => tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as tf.Tensor2D);
    case 'relu':
      return (x) => tf.relu(x);
  }
}
