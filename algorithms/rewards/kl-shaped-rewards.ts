/**
 * The per-token reward of RLHF with a KL penalty (Ziegler et al. 2019, Eq. 2; Ouyang et al. 2022, Eq. 2):
 *   r_t = -beta * KL_t  (+ score on the last real action token)
 */
import * as tf from '@tensorflow/tfjs-core';
import { AlgorithmInputError, checkFloat, checkOption, checkRank, checkSameShape } from '../checks.ts';
import { type KlEstimator, klPenalty } from '../kl/penalty.ts';

/**
 * @param scores (B) sequence scores r(x, y)
 * @param logProbs (B, T) log pi_old(a_t | s_t)
 * @param referenceLogProbs (B, T) log pi_ref(a_t | s_t)
 * @param mask (B, T) 1 for real action tokens (right-padded)
 * @returns rewards (B, T) and the per-token KL (B, T), both 0 where masked
 *
 * @example
 * const { rewards } = klShapedRewards(scores, logProbs, referenceLogProbs, actionMask, { beta: 0.05, estimator: 'k1' });
 */
export function klShapedRewards(
  scores: tf.Tensor1D,
  logProbs: tf.Tensor2D,
  referenceLogProbs: tf.Tensor2D,
  mask: tf.Tensor2D,
  options: { beta: number; estimator?: KlEstimator },
): { rewards: tf.Tensor2D; kl: tf.Tensor2D } {
  const name = 'klShapedRewards';
  checkRank(name, 'logProbs', logProbs, 2, '(batch, tokens)');
  checkSameShape(name, { logProbs, referenceLogProbs, mask });
  checkRank(name, 'scores', scores, 1, '(batch)');
  checkFloat(name, 'scores', scores);
  checkOption(name, 'beta', options.beta, options.beta >= 0, '>= 0');
  if (scores.shape[0] !== logProbs.shape[0]) {
    throw new AlgorithmInputError(name, 'scores', `scores has ${scores.shape[0]} rows but logProbs has ${logProbs.shape[0]}`);
  }
  return tf.tidy(() => {
    const [batchSize, length] = mask.shape;
    const kl = tf.mul(klPenalty(logProbs, referenceLogProbs, options.estimator ?? 'k1'), mask) as tf.Tensor2D;
    /** (B, T) 1 at the last real action token of each row: mask_t * (1 - mask_{t+1}) */
    const nextMask = tf.concat([tf.slice(mask, [0, 1], [batchSize, length - 1]), tf.zeros([batchSize, 1])], 1);
    const last = tf.mul(mask, tf.sub(1, nextMask));
    const rewards = tf.add(tf.mul(kl, -options.beta), tf.mul(last, tf.expandDims(scores, 1))) as tf.Tensor2D;
    return { rewards, kl };
  });
}
