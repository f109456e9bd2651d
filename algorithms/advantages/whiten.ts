/**
 * Whitening over the real tokens of a batch (as TRL's `masked_whiten`): (x - mean) / sqrt(var + epsilon) with
 * the unbiased masked variance; with `shiftMean: false` the mean is added back (only the scale changes).
 * PPO implementations whiten advantages per batch (Andrychowicz et al. 2021, "What Matters in On-Policy RL",
 * Sec. 3.5).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFloat, checkSameShape } from '../checks.ts';
import { maskedMean, maskedVariance } from '../reduce.ts';

export interface WhitenOptions {
  /** true (default): zero mean; false: keep the original mean, only rescale. */
  shiftMean?: boolean;
  /** Added to the variance before the square root (default 1e-8). */
  epsilon?: number;
}

/**
 * @param x (B, T) or any shape
 * @param mask same shape, 1 for entries that count
 * @returns same shape, 0 where masked
 *
 * @example
 * const normalized = whiten(advantages, actionMask, { shiftMean: true });
 */
export function whiten(x: tf.Tensor, mask: tf.Tensor, options: WhitenOptions = {}): tf.Tensor {
  checkSameShape('whiten', { x, mask });
  checkFloat('whiten', 'x', x);
  checkFloat('whiten', 'mask', mask);
  const shiftMean = options.shiftMean ?? true;
  const epsilon = options.epsilon ?? 1e-8;
  return tf.tidy(() => {
    const mean = maskedMean(x, mask);
    const variance = maskedVariance(x, mask, true);
    let whitened = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
    if (!shiftMean) whitened = tf.add(whitened, mean);
    return tf.mul(whitened, mask);
  });
}
