/**
 * PPO's advantages as a function from a scored experience batch to a training batch: per-token KL-shaped
 * rewards (Ziegler et al. 2019, Eq. 2), GAE advantages and returns over the old values (Schulman et al. 2016,
 * Eq. 16), then whitening over the batch's real tokens (Andrychowicz et al. 2021, Sec. 3.5):
 *
 *   r_t = -beta * KL_t (+ score on the last action)   A = gae(r, V_old)   R = A + V_old   A <- whiten(A)
 *
 * The value role runs it (it holds the old values); the function itself reads and writes only the batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gae, klShapedRewards, whiten, type KlEstimator } from '../../algorithms/index.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';

export interface PpoAdvantageOptions {
  /** KL coefficient beta in r_t = -beta * KL_t (+ score at the end). */
  klCoef: number;
  klEstimator: KlEstimator;
  gamma: number;
  lambda: number;
  /** Whiten advantages over the batch (mean 0, std 1). */
  whitenAdvantages: boolean;
}

/** Batch means the driver logs. */
export interface PpoAdvantageStats {
  /** Mean over rows of the summed per-token KL (the configured estimator) to the reference. */
  kl: number;
  /** Mean reward-model score. */
  modelReward: number;
  /** Mean of the (unwhitened) returns at the first action. */
  meanReturn: number;
  /** Mean old value at the first action. */
  meanValue: number;
  /** The policy weights the experience was generated with, as recorded in the experience itself. */
  weightVersion: number;
  weightChecksum: string;
}

/**
 * @param experience a batch with `referenceLogProbs`, `scores` and `values` filled by the scoring roles
 * @returns the same batch with `rewards`, `advantages` and `returns` (each (B, N), 0 where masked), and its stats
 *
 * @example
 * const { experience: batch, stats } = ppoAdvantages(scored, { klCoef: 0.05, klEstimator: 'k1', gamma: 1, lambda: 0.95, whitenAdvantages: true });
 */
export function ppoAdvantages(experience: ExperienceBatch, options: PpoAdvantageOptions): { experience: ExperienceBatch; stats: PpoAdvantageStats } {
  const { batchSize, responseLength, referenceLogProbs, scores, values } = experience;
  if (!referenceLogProbs || !scores || !values) {
    throw new PosttrainError('EXPERIENCE_INCOMPLETE', 'ppoAdvantages needs experience with referenceLogProbs, scores and values (the scoring roles fill them)');
  }
  const shape: [number, number] = [batchSize, responseLength];
  const computed = tf.tidy(() => {
    const mask = tf.tensor2d(experience.actionMask, shape);
    const oldValues = tf.mul(tf.tensor2d(values, shape), mask) as tf.Tensor2D;
    const { rewards, kl } = klShapedRewards(tf.tensor1d(scores), tf.tensor2d(experience.logProbs, shape), tf.tensor2d(referenceLogProbs, shape), mask, {
      beta: options.klCoef,
      estimator: options.klEstimator,
    });
    const { advantages, returns } = gae(rewards, oldValues, mask, { gamma: options.gamma, lambda: options.lambda });
    const finalAdvantages = options.whitenAdvantages ? tf.mul(whiten(advantages, mask, { shiftMean: true }), mask) : advantages;
    return { rewards, sequenceKl: tf.sum(kl, 1), advantages: finalAdvantages, returns };
  });
  const read = (tensor: tf.Tensor) => tensor.dataSync() as Float32Array;
  const batch: ExperienceBatch = { ...experience, rewards: read(computed.rewards), advantages: read(computed.advantages), returns: read(computed.returns) };
  const sequenceKl = read(computed.sequenceKl);
  tf.dispose(Object.values(computed));
  const stats: PpoAdvantageStats = {
    kl: mean(sequenceKl),
    modelReward: mean(scores),
    meanReturn: mean(firstColumn(batch.returns!, batchSize, responseLength)),
    meanValue: mean(firstColumn(values, batchSize, responseLength)),
    weightVersion: experience.weightVersion,
    weightChecksum: experience.weightChecksum,
  };
  return { experience: batch, stats };
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return values.length ? sum / values.length : 0;
}

function firstColumn(values: Float32Array, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows);
  for (let row = 0; row < rows; row++) out[row] = values[row * width]!;
  return out;
}
