/**
 * Clipped value loss of PPO implementations (OpenAI baselines ppo2; Andrychowicz et al. 2021, Sec. 3.2):
 *
 *   V_clip = V_old + clamp(V - V_old, -clip, clip)
 *   L_t    = 0.5 * max((V - R)^2, (V_clip - R)^2)        (0.5 * (V - R)^2 without a clip)
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFloat, checkOption, checkSameShape } from '../checks.ts';
import { aggregateLoss, maskedMean, type Reduction } from '../reduce.ts';

export interface ValueLossOptions {
  /** Clip range for the change of the value from V_old; no clipping when omitted. */
  clip?: number;
  /** How token losses become a scalar (default 'token-mean'). */
  reduction?: Reduction;
}

/**
 * @param values (B, T) V_theta(s_t), differentiable
 * @param oldValues (B, T) V_old(s_t) from scoring
 * @param returns (B, T) targets R_t
 * @param mask (B, T) 1 for real action tokens
 * @returns loss, and the fraction of tokens where the clipped error was the larger one
 *
 * @example
 * const { loss } = valueLoss(values, oldValues, returns, mask, { clip: 0.2 });
 */
export function valueLoss(
  values: tf.Tensor,
  oldValues: tf.Tensor,
  returns: tf.Tensor,
  mask: tf.Tensor,
  options: ValueLossOptions = {},
): { loss: tf.Scalar; clipFraction: tf.Scalar } {
  const name = 'valueLoss';
  checkSameShape(name, { values, oldValues, returns, mask });
  for (const [argument, tensor] of Object.entries({ values, oldValues, returns, mask })) checkFloat(name, argument, tensor);
  checkOption(name, 'clip', options.clip, options.clip === undefined || options.clip > 0, '> 0');
  return tf.tidy(() => {
    const unclipped = tf.square(tf.sub(values, returns));
    if (options.clip === undefined) {
      return { loss: tf.mul(aggregateLoss(unclipped, mask, options.reduction ?? 'token-mean'), 0.5) as tf.Scalar, clipFraction: tf.scalar(0) };
    }
    const clippedValues = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -options.clip, options.clip));
    const clipped = tf.square(tf.sub(clippedValues, returns));
    const loss = tf.mul(aggregateLoss(tf.maximum(unclipped, clipped), mask, options.reduction ?? 'token-mean'), 0.5) as tf.Scalar;
    const clipFraction = maskedMean(tf.cast(tf.greater(clipped, unclipped), 'float32'), mask) as tf.Scalar;
    return { loss, clipFraction };
  });
}
