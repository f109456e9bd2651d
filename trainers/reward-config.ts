/**
 * Reward-model training: the SFT trunk with a scalar head learns the task's preference labels with the
 * Bradley-Terry loss (Ouyang et al. 2022, Eq. 1). Defaults were measured on the sentiment task with bench-S.
 */
import { z } from 'zod';
import { DataConfigSchema } from '../data/datasets/data-config.ts';
import { parseConfig } from '../models/config-parse.ts';
import { checkpointSection, deriveShapes, requireThat, loggingSection, modelFileSchema, modelSection, runtimeSection, taskSection, trainerSection, type DerivedShapes } from './config-sections.ts';
import { resolveRoleSizes, trainableRole, type ResolvedRoles } from './role-sizes.ts';

/** The reward-model stage has one role. */
export const REWARD_ROLES = [trainableRole('reward')];

/**
 * Measured on the sentiment task with bench-S. An evaluation is the held-out accuracy (against the gold order, no
 * noise; with `data`, the eval split's labels).
 */
const rewardTrainerSection = trainerSection({ steps: 200, learningRate: 5e-4, weightDecay: 0.1, evalEvery: 50 }).extend({
  /** Preference pairs per step. */
  batchSize: z.int().min(1).default(64),
  /** Probability that a task pair's label is flipped (the noise of human preference labels); a dataset's labels are used as given. */
  labelNoise: z.number().min(0).max(0.5).default(0.1),
  /** Required score gap in the Bradley-Terry loss (Llama 2's margin loss); 0 = plain. */
  margin: z.number().min(0).default(0),
  /** Held-out pairs (with `data`: the first of the eval split, all when there are fewer). */
  evalPairs: z.int().min(1).default(512),
});

export const rewardConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('reward'),
    /** Seed of the pair stream: seed s trains on pairs from index s * 10^7 on. */
    seed: z.int().min(0).default(0),
    task: taskSection,
    /** Preference pairs from your files (preference or implicit-prompt preference) instead of the task's. */
    data: DataConfigSchema.optional(),
    model: modelSection.prefault({}),
    /** Start the trunk from this model file (the SFT model); the reward head starts fresh. */
    init: z.strictObject({ from: modelFileSchema.optional() }).prefault({}),
    runtime: runtimeSection.prefault({}),
    trainer: rewardTrainerSection.prefault({}),
    checkpoint: checkpointSection.prefault({}),
    logging: loggingSection.prefault({}),
  })
  .transform((config, context) => {
    // model.from may be a causal LM (a fresh scalar head) or a *ForSequenceClassification (its own head).
    const derived = deriveShapes(config, context, { scorer: true });
    const roles = resolveRoleSizes('reward', REWARD_ROLES, config.runtime, context);
    if (config.task.name !== 'sentiment' && config.data === undefined) {
      context.addIssue({ code: 'custom', path: ['task', 'name'], message: `a reward model needs preference pairs: a preference task (sentiment) or a preference dataset (data), got task ${config.task.name} and no data` });
    }
    requireThat(context, config.data === undefined || config.data.eval !== undefined || config.data.evalFraction > 0, ['data', 'eval'], 'the reward model measures held-out pairs: give data.eval (a file) or data.evalFraction (e.g. 0.1)');
    return derived ? { ...config, runtime: { ...config.runtime, roles }, derived } : (z.NEVER as never);
  });

export type RewardConfigInput = z.input<typeof rewardConfigSchema>;
export type RewardConfig = z.output<typeof rewardConfigSchema> & { runtime: { roles: ResolvedRoles }; derived: DerivedShapes };

export function parseRewardConfig(input: unknown, prefix = ''): RewardConfig {
  return parseConfig(rewardConfigSchema, input, prefix);
}
