/**
 * REINFORCE++ advantages (Hu 2025, "REINFORCE++", Sec. 3): no critic; the per-token return-to-go
 *   G_t = sum_{s >= t} gamma^(s - t) r_s
 * is whitened over all real tokens of the global batch (not per prompt group), A_t = whiten(G)_t.
 * Per-token rewards usually carry the KL penalty on every token and the score on the last one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFloat, checkOption, checkRank, checkSameShape } from '../checks.ts';
import { discountedSuffixSum } from './discount-matrix.ts';
import { whiten } from './whiten.ts';

/**
 * @param rewards (B, T) per-token rewards
 * @param mask (B, T) 1 for real action tokens (right-padded)
 * @returns advantages (B, T) batch-whitened returns-to-go, and returns (B, T) the raw returns-to-go
 *
 * @example
 * const { advantages } = reinforcePlusPlusAdvantages(rewards, actionMask, { gamma: 1 });
 */
export function reinforcePlusPlusAdvantages(
  rewards: tf.Tensor2D,
  mask: tf.Tensor2D,
  options: { gamma: number; epsilon?: number },
): { advantages: tf.Tensor2D; returns: tf.Tensor2D } {
  const name = 'reinforcePlusPlusAdvantages';
  checkRank(name, 'rewards', rewards, 2, '(batch, tokens)');
  checkSameShape(name, { rewards, mask });
  checkFloat(name, 'rewards', rewards);
  checkOption(name, 'gamma', options.gamma, options.gamma >= 0 && options.gamma <= 1, 'in [0, 1]');
  return tf.tidy(() => {
    const returns = tf.mul(discountedSuffixSum(tf.mul(rewards, mask) as tf.Tensor2D, options.gamma), mask) as tf.Tensor2D;
    const advantages = whiten(returns, mask, { shiftMean: true, epsilon: options.epsilon ?? 1e-8 }) as tf.Tensor2D;
    return { advantages, returns };
  });
}
