/**
 * Per-token estimators of KL(pi || pi_ref) from samples of pi (Schulman 2020, "Approximating KL Divergence"),
 * with log r = log pi_ref(a_t | s_t) - log pi(a_t | s_t):
 *   k1 = -log r               (unbiased, high variance; can be negative per token)
 *   k2 = (log r)^2 / 2        (biased, low variance, always >= 0)
 *   k3 = (r - 1) - log r      (unbiased, low variance, always >= 0)
 * k3 clamps log r to [-20, 20] before exponentiating so that one broken token cannot overflow.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AlgorithmInputError, checkFloat, checkSameShape } from '../checks.ts';

export type KlEstimator = 'k1' | 'k2' | 'k3';

/**
 * @param logProbs (B, T) log pi(a_t | s_t) of the sampled tokens
 * @param referenceLogProbs (B, T) log pi_ref(a_t | s_t)
 * @returns (B, T) per-token KL estimate (unmasked: multiply by the action mask)
 *
 * @example
 * const kl = klPenalty(logProbs, referenceLogProbs, 'k3');
 */
export function klPenalty(logProbs: tf.Tensor, referenceLogProbs: tf.Tensor, estimator: KlEstimator): tf.Tensor {
  const name = 'klPenalty';
  checkSameShape(name, { logProbs, referenceLogProbs });
  checkFloat(name, 'logProbs', logProbs);
  checkFloat(name, 'referenceLogProbs', referenceLogProbs);
  return tf.tidy(() => {
    const logRatio = tf.sub(referenceLogProbs, logProbs);
    switch (estimator) {
      case 'k1':
        return tf.neg(logRatio);
      case 'k2':
        return tf.mul(tf.square(logRatio), 0.5);
      case 'k3': {
        const clamped = tf.clipByValue(logRatio, -20, 20);
        return tf.sub(tf.sub(tf.exp(clamped), 1), clamped);
      }
      default:
        throw new AlgorithmInputError(name, 'estimator', `estimator must be 'k1', 'k2' or 'k3', got '${String(estimator)}'`);
    }
  });
}
