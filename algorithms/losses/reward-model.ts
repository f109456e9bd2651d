/**
 * Bradley-Terry reward-model loss (Ouyang et al. 2022, "InstructGPT", Eq. 1), with the optional preference
 * margin of Touvron et al. 2023 ("Llama 2", Eq. 2):
 *   L = -log sigma(r(x, y_w) - r(x, y_l) - m)
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFloat, checkRank, checkSameShape } from '../checks.ts';
import { logSigmoid } from '../log-sigmoid.ts';
import { aggregateLoss } from '../reduce.ts';

/**
 * @param chosenScores (B) r(x, y_w), differentiable
 * @param rejectedScores (B) r(x, y_l)
 * @returns loss (mean over pairs) and accuracy (fraction of pairs with chosen > rejected)
 *
 * @example
 * const { loss, accuracy } = rewardModelLoss(chosen, rejected, { margin: 0.5 });
 */
export function rewardModelLoss(
  chosenScores: tf.Tensor1D,
  rejectedScores: tf.Tensor1D,
  options: { margin?: number | tf.Tensor1D } = {},
): { loss: tf.Scalar; accuracy: tf.Scalar } {
  const name = 'rewardModelLoss';
  checkRank(name, 'chosenScores', chosenScores, 1, '(pairs)');
  checkSameShape(name, { chosenScores, rejectedScores, ...(options.margin instanceof tf.Tensor ? { margin: options.margin } : {}) });
  checkFloat(name, 'chosenScores', chosenScores);
  checkFloat(name, 'rejectedScores', rejectedScores);
  return tf.tidy(() => {
    const difference = tf.sub(tf.sub(chosenScores, rejectedScores), options.margin ?? 0);
    const perPair = tf.neg(logSigmoid(difference));
    const ones = tf.onesLike(perPair);
    const loss = aggregateLoss(perPair, ones, 'token-mean');
    const accuracy = aggregateLoss(tf.cast(tf.greater(chosenScores, rejectedScores), 'float32'), ones, 'token-mean');
    return { loss, accuracy };
  });
}
