/**
 * Reward-model training: the SFT trunk with a scalar head learns the task's preference labels with the
 * Bradley-Terry loss (Ouyang et al. 2022, Eq. 1). Defaults were measured on the sentiment task with bench-S.
 */
import { z } from 'zod';
import { parseConfig } from '../models/config-parse.ts';
import { checkpointSection, deriveShapes, loggingSection, modelFileSchema, modelSection, runtimeSection, taskSection, type DerivedShapes } from './config-sections.ts';
import { resolveRoleSizes, trainableRole, type ResolvedRoles } from './role-sizes.ts';

/** The reward-model stage has one role. */
export const REWARD_ROLES = [trainableRole('reward')];

const rewardTrainerSection = z.strictObject({
  /** Optimizer steps. */
  steps: z.int().min(1).default(200),
  /** Preference pairs per step. */
  batchSize: z.int().min(1).default(64),
  /** AdamW learning rate. */
  learningRate: z.number().positive().max(1).default(5e-4),
  weightDecay: z.number().min(0).default(0.1),
  maxGradNorm: z.number().positive().default(1),
  /** Probability that a training label is flipped (the noise of human preference labels). */
  labelNoise: z.number().min(0).max(0.5).default(0.1),
  /** Required score gap in the Bradley-Terry loss (Llama 2's margin loss); 0 = plain. */
  margin: z.number().min(0).default(0),
  /** Held-out accuracy (against the gold order, no noise) every N steps. */
  evalEvery: z.int().min(0).default(50),
  evalPairs: z.int().min(1).default(512),
});

export const rewardConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('reward'),
    /** Seed of the pair stream: seed s trains on pairs from index s * 10^7 on. */
    seed: z.int().min(0).default(0),
    task: taskSection,
    model: modelSection.prefault({}),
    /** Start the trunk from this model file (the SFT model); the reward head starts fresh. */
    init: z.strictObject({ from: modelFileSchema.optional() }).prefault({}),
    runtime: runtimeSection.prefault({}),
    trainer: rewardTrainerSection.prefault({}),
    checkpoint: checkpointSection.prefault({}),
    logging: loggingSection.prefault({}),
  })
  .transform((config, context) => {
    const derived = deriveShapes(config, context);
    const roles = resolveRoleSizes('reward', REWARD_ROLES, config.runtime, context);
    if (config.task.name !== 'sentiment') {
      context.addIssue({ code: 'custom', path: ['task', 'name'], message: `a reward model needs a preference task (sentiment), got ${config.task.name}` });
    }
    return derived ? { ...config, runtime: { ...config.runtime, roles }, derived } : (z.NEVER as never);
  });

export type RewardConfigInput = z.input<typeof rewardConfigSchema>;
export type RewardConfig = z.output<typeof rewardConfigSchema> & { runtime: { roles: ResolvedRoles }; derived: DerivedShapes };

export function parseRewardConfig(input: unknown, prefix = ''): RewardConfig {
  return parseConfig(rewardConfigSchema, input, prefix);
}
