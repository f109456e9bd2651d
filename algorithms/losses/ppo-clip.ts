/**
 * PPO's clipped surrogate objective (Schulman et al. 2017, "Proximal Policy Optimization Algorithms", Eq. 7),
 * with asymmetric clip ranges (clip-higher, Yu et al. 2025 "DAPO", Eq. 10) and optional dual clipping (Ye et al.
 * 2020, "Mastering Complex Control in MOBA Games with Deep RL", Eq. 5):
 *
 *   rho_t = exp(clamp(log pi - log pi_old, -20, 20))
 *   L_t   = -min(rho_t A_t, clip(rho_t, 1 - clipLow, 1 + clipHigh) A_t)
 *   dual: for A_t < 0,  L_t = min(L_t, -dualClip * A_t)
 *
 * reduced with the shared masked reduction (token-mean by default).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFloat, checkOption, checkSameShape } from '../checks.ts';
import { aggregateLoss, maskedMean, type Reduction } from '../reduce.ts';

/** Bound on |log ratio| before exponentiating, so that a stale or broken batch cannot overflow. */
const LOG_RATIO_LIMIT = 20;

export interface PpoPolicyLossOptions {
  /** epsilon_low: the ratio is clipped below at 1 - clipLow (e.g. 0.2). */
  clipLow: number;
  /** epsilon_high: the ratio is clipped above at 1 + clipHigh (e.g. 0.2, or 0.28 for clip-higher). */
  clipHigh: number;
  /** Dual-clip constant c > 1 bounding the loss of negative-advantage tokens; off when omitted. */
  dualClip?: number;
  /** How token losses become a scalar (default 'token-mean'). */
  reduction?: Reduction;
}

export interface PpoPolicyLossResult {
  /** Scalar loss to minimise. */
  loss: tf.Scalar;
  /** Fraction of real tokens where clipping was active (the clipped term was the larger loss). */
  clipFraction: tf.Scalar;
  /** KL(pi_old || pi) estimate, masked mean of (rho - 1) - log rho (Schulman's k3). */
  approxKl: tf.Scalar;
}

/**
 * @param logProbs (B, T) log pi_theta(a_t | s_t), differentiable
 * @param oldLogProbs (B, T) log pi_old(a_t | s_t) from generation
 * @param advantages (B, T)
 * @param mask (B, T) 1 for real action tokens
 *
 * @example
 * const { loss, clipFraction } = ppoPolicyLoss(logProbs, oldLogProbs, advantages, mask, { clipLow: 0.2, clipHigh: 0.2 });
 */
export function ppoPolicyLoss(
  logProbs: tf.Tensor,
  oldLogProbs: tf.Tensor,
  advantages: tf.Tensor,
  mask: tf.Tensor,
  options: PpoPolicyLossOptions,
): PpoPolicyLossResult {
  const name = 'ppoPolicyLoss';
  checkSameShape(name, { logProbs, oldLogProbs, advantages, mask });
  for (const [argument, tensor] of Object.entries({ logProbs, oldLogProbs, advantages, mask })) checkFloat(name, argument, tensor);
  checkOption(name, 'clipLow', options.clipLow, options.clipLow >= 0 && options.clipLow < 1, 'in [0, 1)');
  checkOption(name, 'clipHigh', options.clipHigh, options.clipHigh >= 0, '>= 0');
  checkOption(name, 'dualClip', options.dualClip, options.dualClip === undefined || options.dualClip > 1, '> 1');
  return tf.tidy(() => {
    const logRatio = tf.clipByValue(tf.sub(logProbs, oldLogProbs), -LOG_RATIO_LIMIT, LOG_RATIO_LIMIT);
    const ratio = tf.exp(logRatio);
    const unclippedLoss = tf.neg(tf.mul(ratio, advantages));
    const clippedLoss = tf.neg(tf.mul(tf.clipByValue(ratio, 1 - options.clipLow, 1 + options.clipHigh), advantages));
    let tokenLoss = tf.maximum(unclippedLoss, clippedLoss);
    if (options.dualClip !== undefined) {
      const bound = tf.mul(advantages, -options.dualClip);
      tokenLoss = tf.where(tf.less(advantages, 0), tf.minimum(tokenLoss, bound), tokenLoss);
    }
    const loss = aggregateLoss(tokenLoss, mask, options.reduction ?? 'token-mean');
    const clipped = tf.cast(tf.greater(clippedLoss, unclippedLoss), 'float32');
    const clipFraction = maskedMean(clipped, mask) as tf.Scalar;
    const approxKl = maskedMean(tf.sub(tf.sub(ratio, 1), logRatio), mask) as tf.Scalar;
    return { loss, clipFraction, approxKl };
  });
}
