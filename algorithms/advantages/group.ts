/**
 * Group-relative advantages of GRPO (Shao et al. 2024, "DeepSeekMath", Eq. 3 / Sec. 4.1.2): each prompt is
 * sampled `groupSize` times and each sample's outcome reward is compared with its group,
 *   A_i = (r_i - mean(r_group)) / (std(r_group) + epsilon)      (scale 'group', unbiased std as TRL)
 *   A_i =  r_i - mean(r_group)                                   (scale 'none', Dr. GRPO, Liu et al. 2025)
 * Rows are laid out group after group: rows [g * groupSize, (g + 1) * groupSize) share a prompt.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AlgorithmInputError, checkFloat, checkRank } from '../checks.ts';

export interface GroupAdvantageOptions {
  /** 'group' divides by the group's standard deviation; 'none' only centres. */
  scale: 'group' | 'none';
  /** Added to the standard deviation (default 1e-4, as TRL). */
  epsilon?: number;
}

/**
 * @param rewards (B) one outcome reward per sample, B = groups * groupSize
 * @returns (B) advantages, constant over each sample's tokens
 *
 * @example
 * groupAdvantages(tf.tensor1d([1, 0, 0, 1]), 2, { scale: 'group' }); // ~[0.707, -0.707, -0.707, 0.707]
 */
export function groupAdvantages(rewards: tf.Tensor1D, groupSize: number, options: GroupAdvantageOptions): tf.Tensor1D {
  const name = 'groupAdvantages';
  checkGroups(name, rewards, groupSize, options.scale === 'group' ? 2 : 1);
  if (options.scale !== 'group' && options.scale !== 'none') {
    throw new AlgorithmInputError(name, 'scale', `scale must be 'group' or 'none', got '${String(options.scale)}'`);
  }
  const epsilon = options.epsilon ?? 1e-4;
  return tf.tidy(() => {
    const grouped = tf.reshape(rewards, [-1, groupSize]);
    const { mean, variance } = tf.moments(grouped, 1, true);
    const centered = tf.sub(grouped, mean);
    if (options.scale === 'none') return tf.reshape(centered, [-1]) as tf.Tensor1D;
    const unbiasedStd = tf.sqrt(tf.mul(variance, groupSize / (groupSize - 1)));
    return tf.reshape(tf.div(centered, tf.add(unbiasedStd, epsilon)), [-1]) as tf.Tensor1D;
  });
}

/** Shared checks of the group-based estimators. */
export function checkGroups(name: string, rewards: tf.Tensor, groupSize: number, minimumGroupSize: number): void {
  checkRank(name, 'rewards', rewards, 1, '(batch)');
  checkFloat(name, 'rewards', rewards);
  if (!Number.isInteger(groupSize) || groupSize < minimumGroupSize) {
    throw new AlgorithmInputError(name, 'groupSize', `groupSize must be an integer >= ${minimumGroupSize}, got ${groupSize}`);
  }
  if (rewards.shape[0] % groupSize !== 0) {
    throw new AlgorithmInputError(name, 'groupSize', `batch of ${rewards.shape[0]} rewards is not divisible by groupSize ${groupSize}`);
  }
}
