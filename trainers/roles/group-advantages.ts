/**
 * Critic-free advantage estimators for grouped samples (GRPO's setting: `samplesPerPrompt` rows per prompt, adjacent).
 * Each maps a batch's sequence scores (and, for REINFORCE++, its KL-shaped per-token rewards) to per-token
 * advantages (B, N), zero on padding. The GRPO trainer picks one by the name in its config.
 */
import * as tf from '@tensorflow/tfjs-core';
import { groupAdvantages, klShapedRewards, leaveOneOutAdvantages, reinforcePlusPlusAdvantages, type KlEstimator } from '../../algorithms/index.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';

export interface GroupAdvantageInput {
  experience: ExperienceBatch;
  /** (B) outcome score of each row */
  scores: Float32Array;
  samplesPerPrompt: number;
  /** GRPO's std scaling ('group') or Dr. GRPO's centring only ('none'). */
  scale: 'group' | 'none';
  /** REINFORCE++ puts the KL penalty in the per-token reward. */
  klCoef: number;
  klEstimator: KlEstimator;
}

type Estimator = (input: GroupAdvantageInput) => tf.Tensor2D;

/** Broadcasts a per-row advantage over the row's action tokens. */
function perRow(rowAdvantages: tf.Tensor1D, experience: ExperienceBatch): tf.Tensor2D {
  const mask = tf.tensor2d(experience.actionMask, [experience.batchSize, experience.responseLength]);
  return tf.mul(tf.expandDims(rowAdvantages, 1), mask) as tf.Tensor2D;
}

export const GROUP_ESTIMATORS: Record<'grpo' | 'rloo' | 'reinforce++', Estimator> = {
  /** Shao et al. 2024, Eq. 3: (r - mean_group) / (std_group + eps). */
  grpo: (input) => perRow(groupAdvantages(tf.tensor1d(input.scores), input.samplesPerPrompt, { scale: input.scale }), input.experience),
  /** Ahmadian et al. 2024 (RLOO): r - mean of the other samples of the prompt. */
  rloo: (input) => perRow(leaveOneOutAdvantages(tf.tensor1d(input.scores), input.samplesPerPrompt), input.experience),
  /** Hu 2025 (REINFORCE++): whitened returns-to-go of the KL-shaped per-token reward. */
  'reinforce++': (input) => {
    const { experience } = input;
    const shape: [number, number] = [experience.batchSize, experience.responseLength];
    const mask = tf.tensor2d(experience.actionMask, shape);
    const { rewards } = klShapedRewards(tf.tensor1d(input.scores), tf.tensor2d(experience.logProbs, shape), tf.tensor2d(experience.referenceLogProbs!, shape), mask, {
      beta: input.klCoef,
      estimator: input.klEstimator,
    });
    return reinforcePlusPlusAdvantages(rewards, mask, { gamma: 1 }).advantages;
  },
};

export type GroupEstimatorName = keyof typeof GROUP_ESTIMATORS;
