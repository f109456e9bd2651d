/**
 * DPO (Rafailov et al. 2023): the policy learns from preference pairs directly, with the reference as the only
 * other role. Defaults: beta 0.1 and the sigmoid loss (the paper's), label smoothing 0 (cDPO when > 0).
 */
import { z } from 'zod';
import { RewardsConfigSchema } from '../rollout/reward-functions.ts';
import { parseConfig } from '../models/config-parse.ts';
import { withRolloutLimits } from './grpo-config.ts';
import { batchSizeField, labelNoiseField, policyInit, policyTrainerSection, requireStartingPolicy, requireThat } from './config-sections.ts';
import { stageConfigSchema } from './stage-config.ts';
import { frozenRole, ROLLOUT_ROLE, trainableRole } from './role-sizes.ts';

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
 * evaluation samples the eval prompts (with `data`: the eval pairs' prompts, scored by `rewards` when given) and,
 * with `data`, measures the held-out pairs.
 */
const dpoTrainerSection = policyTrainerSection({ steps: 200, learningRate: 1e-4, weightDecay: 0, evalEvery: 50, evalPrompts: 26, evalSamplesPerPrompt: 4 }).extend({
  batchSize: batchSizeField(32),
  /** The data's noise, not the loss's smoothing (algo.labelSmoothing). */
  labelNoise: labelNoiseField,
  /** With `data`: held-out pairs (the first of the eval split) for preference accuracy and reward margin (default 64; optional so older configs hash as before). */
  evalPairs: z.int().min(1).optional(),
});

export const dpoConfigSchema = stageConfigSchema('dpo', {
  roles: DPO_ROLES,
  inputs: {
    /** Your reward functions: score evaluation samples of the eval pairs' prompts (a held-out gold metric; DPO does not train on them). */
    rewards: RewardsConfigSchema.optional(),
    /** With `rewards`: prompt slots and generated tokens of the evaluation samples (default: the task's). */
    rollout: z.strictObject({ promptTokens: z.int().min(1).optional(), completionTokens: z.int().min(1).optional() }).optional(),
  },
  init: policyInit,
  own: { algo: dpoAlgoSection.prefault({}), trainer: dpoTrainerSection.prefault({}) },
  heldOut: 'DPO measures held-out pairs',
  check: (config, context, { roles, derived }) => {
    requireStartingPolicy(context, config, 'DPO');
    if (config.task.name !== 'sentiment' && config.data === undefined) {
      context.addIssue({ code: 'custom', path: ['task', 'name'], message: `DPO needs preference pairs: a preference task (sentiment) or a preference dataset (data), got task ${config.task.name} and no data` });
    }
    requireThat(context, config.rewards === undefined || config.data !== undefined, ['rewards'], 'rewards score the samples of the eval pairs\' prompts: give data (a preference dataset) with them');
    if (config.algo.labelSmoothing > 0 && config.algo.variant !== 'sigmoid') {
      context.addIssue({ code: 'custom', path: ['algo', 'labelSmoothing'], message: `labelSmoothing (${config.algo.labelSmoothing}) applies to the sigmoid variant only, not ${config.algo.variant}` });
    }
    const ranks = roles.policy!.groupSize;
    if (config.trainer.batchSize < ranks) {
      context.addIssue({ code: 'custom', path: ['trainer', 'batchSize'], message: `trainer.batchSize (${config.trainer.batchSize}) needs at least one pair per policy rank (${ranks})` });
    }
    return derived && withRolloutLimits(derived, config.rollout ?? {}, context);
  },
});

export type DPOConfigInput = z.input<typeof dpoConfigSchema>;
export type DPOConfig = z.output<typeof dpoConfigSchema>;

export function parseDpoConfig(input: unknown, prefix = ''): DPOConfig {
  return parseConfig(dpoConfigSchema, input, prefix);
}
