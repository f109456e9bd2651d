/**
 * Supervised fine-tuning: teach the model the task's demonstrations (the first stage of every recipe).
 * Defaults: nanoGPT's small-model settings (AdamW, lr 1e-3, weight decay 0.1, grad clip 1.0), measured on the
 * sentiment task to bring held-out loss near its floor in a few hundred steps on bench-S.
 */
import { z } from 'zod';
import { DataConfigSchema } from '../data/datasets/data-config.ts';
import { parseConfig } from '../models/config-parse.ts';
import {
  checkpointSection,
  deriveShapes,
  loggingSection,
  modelFileSchema,
  modelSection,
  requireThat,
  runtimeSection,
  taskSection,
  trainerSection,
  type DerivedShapes,
} from './config-sections.ts';
import { resolveRoleSizes, trainableRole, type ResolvedRoles, type RoleSizing } from './role-sizes.ts';

/** SFT's roles: the policy, and one rollout worker for the final gold-reward evaluation. */
export const SFT_ROLES: RoleSizing[] = [trainableRole('policy'), { name: 'rollout', ranks: 'one', reason: 'SFT samples only for its final evaluation, on one rollout worker' }];

/** nanoGPT's shakespeare-char: lr 1e-3, weight decay 0.1. An evaluation is the held-out loss. */
const sftTrainerSection = trainerSection({ steps: 300, learningRate: 1e-3, weightDecay: 0.1, evalEvery: 100 }).extend({
  /** Examples per step (split across data-parallel ranks). */
  batchSize: z.int().min(1).default(64),
  /** Held-out examples per evaluation. */
  evalExamples: z.int().min(1).default(256),
  /** Eval prompts sampled for the gold-reward baseline at the end (0: skip). */
  evalPrompts: z.int().min(0).default(26),
  /** Samples per eval prompt. */
  evalSamplesPerPrompt: z.int().min(1).default(4),
});

export const sftConfigSchema = z
  .strictObject({
    /** Run name: the run directory is `<logging.runsDirectory>/<name>`. */
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('sft'),
    /** Seed of the data stream: seed s trains on examples from index s * 10^7 on. */
    seed: z.int().min(0).default(0),
    task: taskSection,
    /** Demonstrations from your files (prompt-completion, or language modelling) instead of the task's. */
    data: DataConfigSchema.optional(),
    model: modelSection.prefault({}),
    /** Start from this model file instead of fresh weights. */
    init: z.strictObject({ from: modelFileSchema.optional() }).prefault({}),
    runtime: runtimeSection.prefault({}),
    trainer: sftTrainerSection.prefault({}),
    checkpoint: checkpointSection.prefault({}),
    logging: loggingSection.prefault({}),
  })
  .transform((config, context) => {
    const derived = deriveShapes(config, context);
    const roles = resolveRoleSizes('sft', SFT_ROLES, config.runtime, context);
    requireThat(context, config.data === undefined || config.data.eval !== undefined || config.data.evalFraction > 0, ['data', 'eval'], 'SFT measures a held-out loss: give data.eval (a file) or data.evalFraction (e.g. 0.1)');
    return derived ? { ...config, runtime: { ...config.runtime, roles }, derived } : (z.NEVER as never);
  });

export type SFTConfigInput = z.input<typeof sftConfigSchema>;
export type SFTConfig = z.output<typeof sftConfigSchema> & { runtime: { roles: ResolvedRoles }; derived: DerivedShapes };

/** Parses and checks an SFT config; throws a ConfigError listing every problem. */
export function parseSftConfig(input: unknown, prefix = ''): SFTConfig {
  return parseConfig(sftConfigSchema, input, prefix);
}
