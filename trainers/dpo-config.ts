/**
 * DPO (Rafailov et al. 2023): the policy learns from preference pairs directly, with the reference as the only
 * other role. Defaults: beta 0.1 and the sigmoid loss (the paper's), label smoothing 0 (cDPO when > 0).
 */
import { z } from 'zod';
import { parseConfig } from '../models/config-parse.ts';
import { checkpointSection, deriveShapes, requireThat, loggingSection, modelFileSchema, modelSection, runtimeSection, taskSection, type DerivedShapes } from './config-sections.ts';
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

const dpoTrainerSection = z.strictObject({
  steps: z.int().min(1).default(200),
  /** Preference pairs per step. */
  batchSize: z.int().min(1).default(32),
  /** Adam learning rate (measured on bench-S: 1e-4 learns in a few hundred steps; the paper's 5e-7 is for 6B+). */
  learningRate: z.number().positive().max(1).default(1e-4),
  weightDecay: z.number().min(0).default(0),
  maxGradNorm: z.number().positive().default(1),
  /** Probability that a training label is flipped (the data's noise, not the loss's smoothing). */
  labelNoise: z.number().min(0).max(0.5).default(0.1),
  evalEvery: z.int().min(0).default(50),
  evalPrompts: z.int().min(1).default(26),
  evalSamplesPerPrompt: z.int().min(1).default(4),
});

export const dpoConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('dpo'),
    /** Seed of the pair stream (pairs from index seed * 10^7 on). */
    seed: z.int().min(0).default(0),
    task: taskSection,
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
    if (config.task.name !== 'sentiment') {
      context.addIssue({ code: 'custom', path: ['task', 'name'], message: `DPO needs a preference task (sentiment), got ${config.task.name}` });
    }
    if (config.algo.labelSmoothing > 0 && config.algo.variant !== 'sigmoid') {
      context.addIssue({ code: 'custom', path: ['algo', 'labelSmoothing'], message: `labelSmoothing (${config.algo.labelSmoothing}) applies to the sigmoid variant only, not ${config.algo.variant}` });
    }
    const roles = resolveRoleSizes('dpo', DPO_ROLES, config.runtime, context);
    const ranks = roles.policy!.groupSize;
    if (config.trainer.batchSize < ranks) {
      context.addIssue({ code: 'custom', path: ['trainer', 'batchSize'], message: `trainer.batchSize (${config.trainer.batchSize}) needs at least one pair per policy rank (${ranks})` });
    }
    return derived ? { ...config, runtime: { ...config.runtime, roles }, derived } : (z.NEVER as never);
  });

export type DPOConfigInput = z.input<typeof dpoConfigSchema>;
export type DPOConfig = z.output<typeof dpoConfigSchema> & { runtime: { roles: ResolvedRoles }; derived: DerivedShapes };

export function parseDpoConfig(input: unknown, prefix = ''): DPOConfig {
  return parseConfig(dpoConfigSchema, input, prefix);
}
