/**
 * Generalized Advantage Estimation (Schulman et al. 2016, "High-Dimensional Continuous Control Using GAE",
 * Eq. 16):
 *
 *   delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)                      (V(s_T) = 0: the episode ends)
 *   A_t     = delta_t + (gamma lambda) A_{t+1}                        (A_T = 0)
 *           = delta_t + (gamma lambda) delta_{t+1} + (gamma lambda)^2 delta_{t+2} + ... + (gamma lambda)^(T-1-t) delta_{T-1}
 *   R_t     = A_t + V(s_t)                                            (the value target, "returns")
 *
 * Masked tokens (mask 0) must be right padding: rewards and values there count as 0, so the last real token
 * bootstraps from V = 0 (the response ended at EOS) and padded positions get A = R = 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFloat, checkOption, checkRank, checkSameShape } from '../checks.ts';
import { discountedSuffixSum } from './discount-matrix.ts';

export interface GaeOptions {
  /** Discount gamma in [0, 1]. */
  gamma: number;
  /** GAE lambda in [0, 1]: 0 is one-step TD, 1 is Monte-Carlo returns minus the baseline. */
  lambda: number;
}

/**
 * @param rewards (B, T) per-token rewards r_t
 * @param values (B, T) V(s_t) of the state before each action
 * @param mask (B, T) 1 for real action tokens (right-padded)
 * @returns advantages (B, T) and returns (B, T), 0 where masked
 *
 * @example
 * const { advantages, returns } = gae(rewards, values, actionMask, { gamma: 1, lambda: 0.95 });
 */
export function gae(rewards: tf.Tensor2D, values: tf.Tensor2D, mask: tf.Tensor2D, options: GaeOptions): { advantages: tf.Tensor2D; returns: tf.Tensor2D } {
  const name = 'gae';
  checkRank(name, 'rewards', rewards, 2, '(batch, tokens)');
  checkSameShape(name, { rewards, values, mask });
  for (const [argument, tensor] of Object.entries({ rewards, values, mask })) checkFloat(name, argument, tensor);
  checkOption(name, 'gamma', options.gamma, options.gamma >= 0 && options.gamma <= 1, 'in [0, 1]');
  checkOption(name, 'lambda', options.lambda, options.lambda >= 0 && options.lambda <= 1, 'in [0, 1]');
  return tf.tidy(() => {
    const [batchSize, length] = rewards.shape;
    const maskedRewards = tf.mul(rewards, mask);
    const maskedValues = tf.mul(values, mask);
    /** (B, T) V(s_{t+1}), 0 after the last position */
    const nextValues = tf.concat([tf.slice(maskedValues, [0, 1], [batchSize, length - 1]), tf.zeros([batchSize, 1])], 1);
    const deltas = tf.sub(tf.add(maskedRewards, tf.mul(nextValues, options.gamma)), maskedValues) as tf.Tensor2D;
    const advantages = tf.mul(discountedSuffixSum(deltas, options.gamma * options.lambda), mask) as tf.Tensor2D;
    const returns = tf.mul(tf.add(advantages, maskedValues), mask) as tf.Tensor2D;
    return { advantages, returns };
  });
}
