/**
 * Reward-model training: the SFT trunk with a scalar head learns the task's preference labels with the
 * Bradley-Terry loss (Ouyang et al. 2022, Eq. 1). Defaults were measured on the sentiment task with bench-S.
 */
import { z } from 'zod';
import { parseConfig } from '../models/config-parse.ts';
import { batchSizeField, labelNoiseField, singleModelInit, trainerSection } from './config-sections.ts';
import { stageConfigSchema } from './stage-config.ts';
import { trainableRole } from './role-sizes.ts';

/** The reward-model stage has one role. */
export const REWARD_ROLES = [trainableRole('reward')];

/**
 * Measured on the sentiment task with bench-S. An evaluation is the held-out accuracy (against the gold order, no
 * noise; with `data`, the eval split's labels).
 */
const rewardTrainerSection = trainerSection({ steps: 200, learningRate: 5e-4, weightDecay: 0.1, evalEvery: 50 }).extend({
  batchSize: batchSizeField(64),
  labelNoise: labelNoiseField,
  /** Required score gap in the Bradley-Terry loss (Llama 2's margin loss); 0 = plain. */
  margin: z.number().min(0).default(0),
  /** Held-out pairs (with `data`: the first of the eval split, all when there are fewer). */
  evalPairs: z.int().min(1).default(512),
});

export const rewardConfigSchema = stageConfigSchema('reward', {
  roles: REWARD_ROLES,
  // model.from may be a causal LM (a fresh scalar head) or a *ForSequenceClassification (its own head).
  scorer: true,
  init: singleModelInit,
  own: { trainer: rewardTrainerSection.prefault({}) },
  heldOut: 'the reward model measures held-out pairs',
  check: (config, context, { derived }) => {
    if (config.task.name !== 'sentiment' && config.data === undefined) {
      context.addIssue({ code: 'custom', path: ['task', 'name'], message: `a reward model needs preference pairs: a preference task (sentiment) or a preference dataset (data), got task ${config.task.name} and no data` });
    }
    return derived;
  },
});

export type RewardConfigInput = z.input<typeof rewardConfigSchema>;
export type RewardConfig = z.output<typeof rewardConfigSchema>;

export function parseRewardConfig(input: unknown, prefix = ''): RewardConfig {
  return parseConfig(rewardConfigSchema, input, prefix);
}
