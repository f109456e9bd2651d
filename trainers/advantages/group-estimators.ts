/**
 * Critic-free advantages for grouped samples (GRPO's setting: `samplesPerPrompt` rows per prompt, adjacent), as
 * functions from a scored experience batch to a training batch. Each estimator maps the rows' scores (and, for
 * REINFORCE++, the KL-shaped per-token rewards) to per-token advantages (B, N), zero on padding, and says whether
 * it has put the KL penalty in the reward (then the policy loss leaves it out). The trainer picks one from
 * `GROUP_ESTIMATORS` by its config's name once; the policy role applies it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { groupAdvantages, klShapedRewards, leaveOneOutAdvantages, reinforcePlusPlusAdvantages, type KlEstimator } from '../../algorithms/index.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';
import { meanSequenceKl } from './sequence-kl.ts';

export interface GroupAdvantageOptions {
  samplesPerPrompt: number;
  /** GRPO's std scaling ('group') or Dr. GRPO's centring only ('none'). */
  scale: 'group' | 'none';
  /** beta of the KL penalty (REINFORCE++ puts it in the per-token reward). */
  klCoef: number;
  klEstimator: KlEstimator;
}

/** One estimator: its advantages and where it puts the KL penalty. */
export interface GroupEstimator {
  /** (B, N) advantages of a batch with `scores` and `referenceLogProbs`, 0 where masked. Runs inside tf.tidy. */
  advantages: (experience: ExperienceBatch, scores: Float32Array, options: GroupAdvantageOptions) => tf.Tensor2D;
  /** True when the KL penalty is already in the reward, so the policy loss must not add it again. */
  klInReward: boolean;
}

/** Broadcasts a per-row advantage over the row's action tokens. */
function perRow(rowAdvantages: tf.Tensor1D, experience: ExperienceBatch): tf.Tensor2D {
  const mask = tf.tensor2d(experience.actionMask, [experience.batchSize, experience.responseLength]);
  return tf.mul(tf.expandDims(rowAdvantages, 1), mask) as tf.Tensor2D;
}

export const GROUP_ESTIMATORS = {
  /** Shao et al. 2024, Eq. 3: (r - mean_group) / (std_group + eps); KL in the loss. */
  grpo: {
    advantages: (experience, scores, options) => perRow(groupAdvantages(tf.tensor1d(scores), options.samplesPerPrompt, { scale: options.scale }), experience),
    klInReward: false,
  },
  /** Ahmadian et al. 2024 (RLOO): r - mean of the other samples of the prompt; KL in the loss. */
  rloo: {
    advantages: (experience, scores, options) => perRow(leaveOneOutAdvantages(tf.tensor1d(scores), options.samplesPerPrompt), experience),
    klInReward: false,
  },
  /** Hu 2025 (REINFORCE++): whitened returns-to-go of the KL-shaped per-token reward; KL in the reward. */
  'reinforce++': {
    advantages: (experience, scores, options) => {
      const shape: [number, number] = [experience.batchSize, experience.responseLength];
      const mask = tf.tensor2d(experience.actionMask, shape);
      const { rewards } = klShapedRewards(tf.tensor1d(scores), tf.tensor2d(experience.logProbs, shape), tf.tensor2d(experience.referenceLogProbs!, shape), mask, {
        beta: options.klCoef,
        estimator: options.klEstimator,
      });
      return reinforcePlusPlusAdvantages(rewards, mask, { gamma: 1 }).advantages;
    },
    klInReward: true,
  },
} satisfies Record<string, GroupEstimator>;

export type GroupEstimatorName = keyof typeof GROUP_ESTIMATORS;

/** Batch figures the GRPO driver logs. */
export interface GroupAdvantageStats {
  /** Mean over rows of the sampled sequences' k1 KL to the reference. */
  kl: number;
  /** Mean score. */
  score: number;
  /** Fraction of prompts whose samples did not all score the same (only those carry a learning signal). */
  mixedGroups: number;
}

/**
 * @param experience a batch with `scores` and `referenceLogProbs`, each prompt's samples adjacent
 * @returns the same batch with `advantages` (B, N), and its stats
 *
 * @example
 * const { experience: batch, stats } = groupRelativeAdvantages(scored, GROUP_ESTIMATORS.rloo, { samplesPerPrompt: 4, scale: 'group', klCoef: 0.04, klEstimator: 'k3' });
 */
export function groupRelativeAdvantages(
  experience: ExperienceBatch,
  estimator: GroupEstimator,
  options: GroupAdvantageOptions,
): { experience: ExperienceBatch; stats: GroupAdvantageStats } {
  const { scores, referenceLogProbs } = experience;
  if (!scores || !referenceLogProbs) {
    throw new PosttrainError('EXPERIENCE_INCOMPLETE', 'groupRelativeAdvantages needs experience with scores and referenceLogProbs');
  }
  const advantages = tf.tidy(() => estimator.advantages(experience, scores, options));
  const batch: ExperienceBatch = { ...experience, advantages: advantages.dataSync() as Float32Array };
  advantages.dispose();
  const groups = experience.batchSize / options.samplesPerPrompt;
  let mixed = 0;
  for (let group = 0; group < groups; group++) {
    const members = scores.subarray(group * options.samplesPerPrompt, (group + 1) * options.samplesPerPrompt);
    if (members.some((score) => score !== members[0])) mixed += 1;
  }
  return {
    experience: batch,
    stats: { kl: meanSequenceKl(experience, referenceLogProbs), score: scores.reduce((sum, score) => sum + score, 0) / scores.length, mixedGroups: mixed / groups },
  };
}
