/**
 * Supervised fine-tuning: teach the model the task's demonstrations (the first stage of every recipe).
 * Defaults: nanoGPT's small-model settings (AdamW, lr 1e-3, weight decay 0.1, grad clip 1.0), measured on the
 * sentiment task to bring held-out loss near its floor in a few hundred steps on bench-S.
 */
import { z } from 'zod';
import { parseConfig } from '../models/config-parse.ts';
import { batchSizeField, singleModelInit, trainerSection } from './config-sections.ts';
import { stageConfigSchema } from './stage-config.ts';
import { trainableRole, type RoleSizing } from './role-sizes.ts';

/** SFT's roles: the policy, and one rollout worker for the final gold-reward evaluation. */
export const SFT_ROLES: RoleSizing[] = [trainableRole('policy'), { name: 'rollout', ranks: 'one', reason: 'SFT samples only for its final evaluation, on one rollout worker' }];

/** nanoGPT's shakespeare-char: lr 1e-3, weight decay 0.1. An evaluation is the held-out loss. */
const sftTrainerSection = trainerSection({ steps: 300, learningRate: 1e-3, weightDecay: 0.1, evalEvery: 100 }).extend({
  batchSize: batchSizeField(64),
  /** Held-out examples per evaluation. */
  evalExamples: z.int().min(1).default(256),
  /** Eval prompts sampled for the gold-reward baseline at the end (0: skip). */
  evalPrompts: z.int().min(0).default(26),
  /** Samples per eval prompt. */
  evalSamplesPerPrompt: z.int().min(1).default(4),
});

export const sftConfigSchema = stageConfigSchema('sft', {
  roles: SFT_ROLES,
  init: singleModelInit,
  own: { trainer: sftTrainerSection.prefault({}) },
  heldOut: 'SFT measures a held-out loss',
});

export type SFTConfigInput = z.input<typeof sftConfigSchema>;
export type SFTConfig = z.output<typeof sftConfigSchema>;

/** Parses and checks an SFT config; throws a ConfigError listing every problem. */
export function parseSftConfig(input: unknown, prefix = ''): SFTConfig {
  return parseConfig(sftConfigSchema, input, prefix);
}
