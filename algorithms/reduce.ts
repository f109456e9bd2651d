/**
 * The one masked-reduction helper every loss goes through (as OpenRLHF's `masked_mean`, but total on empty
 * masks: a reduction over no tokens is 0, never NaN).
 */
import * as tf from '@tensorflow/tfjs-core';

/** How per-token (or per-sequence) losses become one scalar. */
export type Reduction =
  /** Mean over all real tokens of the batch (each token weighs the same). */
  | 'token-mean'
  /** Mean over tokens within each row, then over rows that have at least one real token (each row weighs the same). */
  | 'sequence-mean'
  /** Plain masked sum. */
  | 'sum';

/** Smallest denominator, so that an all-masked reduction is 0 / 1e-8 = 0. */
const EMPTY_GUARD = 1e-8;

/**
 * Masked sum of `values` over `axis` (all axes when omitted); mask 1 keeps, 0 drops.
 *
 * @example
 * maskedSum(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 0], [1, 1]]), 1); // [1, 7]
 */
export function maskedSum(values: tf.Tensor, mask: tf.Tensor, axis?: number): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.mul(values, mask), axis));
}

/**
 * Masked mean over `axis` (all axes when omitted); 0 where the mask is empty.
 *
 * @example
 * maskedMean(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 1, 0])); // 1.5
 */
export function maskedMean(values: tf.Tensor, mask: tf.Tensor, axis?: number): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(values, mask), axis), tf.maximum(tf.sum(mask, axis), EMPTY_GUARD)));
}

/**
 * Masked variance over all elements; `unbiased` applies Bessel's correction n / (n - 1) (n = mask sum; no
 * correction when n <= 1).
 */
export function maskedVariance(values: tf.Tensor, mask: tf.Tensor, unbiased = true): tf.Scalar {
  return tf.tidy(() => {
    const mean = maskedMean(values, mask);
    const variance = maskedMean(tf.square(tf.sub(values, mean)), mask);
    if (!unbiased) return variance as tf.Scalar;
    const count = tf.sum(mask);
    return tf.mul(variance, tf.div(count, tf.maximum(tf.sub(count, 1), 1))) as tf.Scalar;
  });
}

/**
 * Reduces per-token losses (B, T) — or per-sequence losses (B) — to a scalar, as `reduction` says.
 *
 * @example
 * aggregateLoss(perTokenLoss, actionMask, 'token-mean');
 */
export function aggregateLoss(losses: tf.Tensor, mask: tf.Tensor, reduction: Reduction = 'token-mean'): tf.Scalar {
  return tf.tidy(() => {
    switch (reduction) {
      case 'token-mean':
        return maskedMean(losses, mask) as tf.Scalar;
      case 'sum':
        return maskedSum(losses, mask) as tf.Scalar;
      case 'sequence-mean': {
        if (losses.rank < 2) return maskedMean(losses, mask) as tf.Scalar;
        const lastAxis = losses.rank - 1;
        const perRow = maskedMean(losses, mask, lastAxis);
        const rowHasTokens = tf.cast(tf.greater(tf.sum(mask, lastAxis), 0), 'float32');
        return maskedMean(perRow, rowHasTokens) as tf.Scalar;
      }
    }
  });
}
