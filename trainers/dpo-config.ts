/**
 * DPO (Rafailov et al. 2023): the policy learns from preference pairs directly, with the reference as the only
 * other role. Defaults: beta 0.1 and the sigmoid loss (the paper's), label smoothing 0 (cDPO when > 0).
 */
import { z } from 'zod';
import { DataConfigSchema } from '../data/datasets/data-config.ts';
import { RewardsConfigSchema } from '../rollout/reward-functions.ts';
import { parseConfig } from '../models/config-parse.ts';
import { withRolloutLimits } from './grpo-config.ts';
import { checkpointSection, deriveShapes, requireThat, loggingSection, modelFileSchema, modelSection, runtimeSection, taskSection, trainerSection, type DerivedShapes } from './config-sections.ts';
import { frozenRole, resolveRoleSizes, ROLLOUT_ROLE, trainableRole, type ResolvedRoles } from './role-sizes.ts';

/** DPO's roles: the policy, the frozen reference, and rollout workers for the gold-reward evaluations. */
export const DPO_ROLES = [trainableRole('policy'), frozenRole('reference'), ROLLOUT_ROLE];

const dpoAlgoSection = z.strictObject({
  /** KL strength beta (the paper: 0.1). */
  beta: z.number().positive().default(0.1),
  /** sigmoid (the paper's Eq. 7), ipo (Azar et al. 2023), hinge (SLiC, Zhao et al. 2023). */
  variant: z.enum(['sigmoid', 'ipo', 'hinge']).default('sigmoid'),
  /** Conservative DPO's assumed label-flip rate (sigmoid only); 0 = plain DPO. */
  labelSmoothing: z.number().min(0).lt(0.5).default(0),
});

/**
 * Learning rate measured on bench-S: 1e-4 learns in a few hundred steps (the paper's 5e-7 is for 6B+). An
 * evaluation samples the eval prompts (gold reward, KL) and, with `data`, measures the held-out pairs.
 */
const dpoTrainerSection = trainerSection({ steps: 200, learningRate: 1e-4, weightDecay: 0, evalEvery: 50 }).extend({
  /** Preference pairs per step. */
  batchSize: z.int().min(1).default(32),
  /** Probability that a task pair's label is flipped (the data's noise, not the loss's smoothing); a dataset's labels are used as given. */
  labelNoise: z.number().min(0).max(0.5).default(0.1),
  /** With `data`: held-out pairs (the first of the eval split) for preference accuracy and reward margin (default 64; optional so older configs hash as before). */
  evalPairs: z.int().min(1).optional(),
  /** Prompts sampled at each evaluation (with `data`: the eval pairs' prompts, scored by `rewards` when given). */
  evalPrompts: z.int().min(1).default(26),
  evalSamplesPerPrompt: z.int().min(1).default(4),
});

export const dpoConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('dpo'),
    /** Seed of the pair stream (pairs from index seed * 10^7 on). */
    seed: z.int().min(0).default(0),
    task: taskSection,
    /** Preference pairs from your files (preference or implicit-prompt preference) instead of the task's. */
    data: DataConfigSchema.optional(),
    /** Your reward functions: score evaluation samples of the eval pairs' prompts (a held-out gold metric; DPO does not train on them). */
    rewards: RewardsConfigSchema.optional(),
    /** With `rewards`: prompt slots and generated tokens of the evaluation samples (default: the task's). */
    rollout: z.strictObject({ promptTokens: z.int().min(1).optional(), completionTokens: z.int().min(1).optional() }).optional(),
    model: modelSection.prefault({}),
    init: z.strictObject({
      /** The SFT model the policy starts from. */
      policy: modelFileSchema.optional(),
      /** The frozen reference (default: the policy's start). */
      reference: modelFileSchema.optional(),
    }).prefault({}),
    runtime: runtimeSection.prefault({}),
    algo: dpoAlgoSection.prefault({}),
    trainer: dpoTrainerSection.prefault({}),
    checkpoint: checkpointSection.prefault({}),
    logging: loggingSection.prefault({}),
  })
  .transform((config, context) => {
    const derived = deriveShapes(config, context);
    requireThat(context, config.init.policy !== undefined || config.model.from !== undefined, ['init', 'policy'], 'DPO needs a starting policy: add an sft stage, set init.policy, or start from a Hugging Face model (model.from)');
    if (config.task.name !== 'sentiment' && config.data === undefined) {
      context.addIssue({ code: 'custom', path: ['task', 'name'], message: `DPO needs preference pairs: a preference task (sentiment) or a preference dataset (data), got task ${config.task.name} and no data` });
    }
    requireThat(context, config.rewards === undefined || config.data !== undefined, ['rewards'], 'rewards score the samples of the eval pairs\' prompts: give data (a preference dataset) with them');
    requireThat(context, config.data === undefined || config.data.eval !== undefined || config.data.evalFraction > 0, ['data', 'eval'], 'DPO measures held-out pairs: give data.eval (a file) or data.evalFraction (e.g. 0.1)');
    if (config.algo.labelSmoothing > 0 && config.algo.variant !== 'sigmoid') {
      context.addIssue({ code: 'custom', path: ['algo', 'labelSmoothing'], message: `labelSmoothing (${config.algo.labelSmoothing}) applies to the sigmoid variant only, not ${config.algo.variant}` });
    }
    const roles = resolveRoleSizes('dpo', DPO_ROLES, config.runtime, context);
    const ranks = roles.policy!.groupSize;
    if (config.trainer.batchSize < ranks) {
      context.addIssue({ code: 'custom', path: ['trainer', 'batchSize'], message: `trainer.batchSize (${config.trainer.batchSize}) needs at least one pair per policy rank (${ranks})` });
    }
    const shapes = derived && withRolloutLimits(derived, config.rollout ?? {}, context);
    return shapes ? { ...config, runtime: { ...config.runtime, roles }, derived: shapes } : (z.NEVER as never);
  });

export type DPOConfigInput = z.input<typeof dpoConfigSchema>;
export type DPOConfig = z.output<typeof dpoConfigSchema> & { runtime: { roles: ResolvedRoles }; derived: DerivedShapes };

export function parseDpoConfig(input: unknown, prefix = ''): DPOConfig {
  return parseConfig(dpoConfigSchema, input, prefix);
}
