/**
 * log sigma(x) = -softplus(-x), numerically stable for large |x|.
 *
 * Not `tf.logSigmoid`: its custom gradient captures its input without saving it, so when the input was made
 * inside a `tf.tidy` (as every loss here does) the backward pass reads a disposed tensor. `Softplus` has a
 * registered gradient that saves what it needs.
 */
import * as tf from '@tensorflow/tfjs-core';

export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.neg(tf.softplus(tf.neg(x))));
}
