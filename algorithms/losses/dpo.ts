/**
 * Direct preference losses on per-sequence log-probabilities. With the implicit reward margin
 *   h = (log pi(y_w) - log pi(y_l)) - (log pi_ref(y_w) - log pi_ref(y_l)):
 *
 *   sigmoid: -(1 - eps) log sigma(beta h) - eps log sigma(-beta h)
 *            (Rafailov et al. 2023, "DPO", Eq. 7; label smoothing eps: Mitchell 2023, "cDPO")
 *   ipo:     (h - 1 / (2 beta))^2                 (Azar et al. 2023, "A General Theoretical Paradigm", Eq. 17)
 *   hinge:   max(0, 1 - beta h)                    (Zhao et al. 2023, "SLiC-HF", Eq. 1)
 *
 * Implicit rewards (DPO Sec. 5): chosen = beta (log pi(y_w) - log pi_ref(y_w)), rejected likewise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AlgorithmInputError, checkFloat, checkOption, checkRank, checkSameShape } from '../checks.ts';
import { logSigmoid } from '../log-sigmoid.ts';
import { aggregateLoss } from '../reduce.ts';

export interface DpoLossOptions {
  /** Strength of the KL constraint to the reference (e.g. 0.1). */
  beta: number;
  /** Which loss; see the file comment. */
  variant: 'sigmoid' | 'ipo' | 'hinge';
  /** Probability that a preference label is flipped (sigmoid only; default 0). */
  labelSmoothing?: number;
}

/**
 * @param policyChosen (B) sum of log pi(y_w | x) over the chosen response's tokens, differentiable
 * @param policyRejected (B) same for the rejected response
 * @param referenceChosen (B) same under the reference model
 * @param referenceRejected (B)
 * @returns loss (mean over pairs) and the implicit rewards (B) of both responses
 *
 * @example
 * const { loss } = dpoLoss(pc, pr, rc, rr, { beta: 0.1, variant: 'sigmoid' });
 */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  referenceChosen: tf.Tensor1D,
  referenceRejected: tf.Tensor1D,
  options: DpoLossOptions,
): { loss: tf.Scalar; chosenRewards: tf.Tensor1D; rejectedRewards: tf.Tensor1D } {
  const name = 'dpoLoss';
  checkRank(name, 'policyChosen', policyChosen, 1, '(pairs)');
  checkSameShape(name, { policyChosen, policyRejected, referenceChosen, referenceRejected });
  for (const [argument, tensor] of Object.entries({ policyChosen, policyRejected, referenceChosen, referenceRejected })) checkFloat(name, argument, tensor);
  checkOption(name, 'beta', options.beta, options.beta > 0, '> 0');
  const labelSmoothing = options.labelSmoothing ?? 0;
  checkOption(name, 'labelSmoothing', labelSmoothing, labelSmoothing >= 0 && labelSmoothing < 0.5, 'in [0, 0.5)');
  if (labelSmoothing > 0 && options.variant !== 'sigmoid') {
    throw new AlgorithmInputError(name, 'labelSmoothing', `labelSmoothing applies to the 'sigmoid' variant only, got variant '${options.variant}'`);
  }
  const { beta } = options;
  return tf.tidy(() => {
    const margin = tf.sub(tf.sub(policyChosen, policyRejected), tf.sub(referenceChosen, referenceRejected));
    let perPair: tf.Tensor;
    switch (options.variant) {
      case 'sigmoid': {
        const scaled = tf.mul(margin, beta);
        perPair = tf.sub(tf.mul(logSigmoid(scaled), -(1 - labelSmoothing)), tf.mul(logSigmoid(tf.neg(scaled)), labelSmoothing));
        break;
      }
      case 'ipo':
        perPair = tf.square(tf.sub(margin, 1 / (2 * beta)));
        break;
      case 'hinge':
        perPair = tf.relu(tf.sub(1, tf.mul(margin, beta)));
        break;
      default:
        throw new AlgorithmInputError(name, 'variant', `variant must be 'sigmoid', 'ipo' or 'hinge', got '${String(options.variant)}'`);
    }
    const loss = aggregateLoss(perPair, tf.onesLike(perPair), 'token-mean');
    const chosenRewards = tf.mul(tf.sub(policyChosen, referenceChosen), beta) as tf.Tensor1D;
    const rejectedRewards = tf.mul(tf.sub(policyRejected, referenceRejected), beta) as tf.Tensor1D;
    return { loss, chosenRewards, rejectedRewards };
  });
}
