/**
 * RLOO advantages (Ahmadian et al. 2024, "Back to Basics", Eq. 5; Kool et al. 2019): each sample's baseline is
 * the mean reward of the OTHER samples of its prompt,
 *   A_i = r_i - (1 / (k - 1)) * sum_{j != i} r_j
 * Rows are laid out group after group, as for `groupAdvantages`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkGroups } from './group.ts';

/**
 * @param rewards (B) one reward per sample, B = groups * groupSize, groupSize >= 2
 * @returns (B)
 *
 * @example
 * leaveOneOutAdvantages(tf.tensor1d([1, 0, 0]), 3); // [1, -0.5, -0.5]
 */
export function leaveOneOutAdvantages(rewards: tf.Tensor1D, groupSize: number): tf.Tensor1D {
  checkGroups('leaveOneOutAdvantages', rewards, groupSize, 2);
  return tf.tidy(() => {
    const grouped = tf.reshape(rewards, [-1, groupSize]);
    const others = tf.div(tf.sub(tf.sum(grouped, 1, true), grouped), groupSize - 1);
    return tf.reshape(tf.sub(grouped, others), [-1]) as tf.Tensor1D;
  });
}
