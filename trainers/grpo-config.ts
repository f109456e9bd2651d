/**
 * GRPO (Shao et al. 2024, DeepSeekMath): no value model; each prompt is sampled `samplesPerPrompt` times and each
 * sample's advantage is its score relative to its group. The KL to the reference is a loss term (k3, beta 0.04
 * as TRL), not a reward penalty. Rewards come from the task's verifier (exact match) unless a reward model is given.
 * RLOO and REINFORCE++ are available as other critic-free estimators.
 */
import { z } from 'zod';
import { RewardsConfigSchema } from '../rollout/reward-functions.ts';
import { parseConfig } from '../models/config-parse.ts';
import { modelPositions } from './dataset-pairs.ts';
import { modelFileSchema, policyInit, policyTrainerSection, requireStartingPolicy, requireThat, type DerivedShapes } from './config-sections.ts';
import { stageConfigSchema } from './stage-config.ts';
import { frozenRole, ROLLOUT_ROLE, trainableRole } from './role-sizes.ts';

/** GRPO's roles and how many ranks each may run (`reward` runs only when `init.reward` is set). */
export const GRPO_ROLES = [trainableRole('policy'), frozenRole('reference'), frozenRole('reward'), ROLLOUT_ROLE];

const grpoRolloutSection = z.strictObject({
  /** Distinct prompts per step. */
  promptsPerStep: z.int().min(1).default(16),
  /** Samples per prompt: the group size G (DeepSeekMath used 64; 8 is plenty for small tasks). */
  samplesPerPrompt: z.int().min(2).default(8),
  temperature: z.number().positive().max(10).default(1),
  topK: z.int().min(0).default(0),
  topP: z.number().gt(0).max(1).default(1),
  /** Prompt slots (left-padded); default the task's. Set it for `data` prompts longer than the task's. */
  promptTokens: z.int().min(1).optional(),
  /** Tokens generated per sample; default the task's. */
  completionTokens: z.int().min(1).optional(),
});

const grpoAlgoSection = z.strictObject({
  /** `grpo` (group-normalised, Shao et al. 2024), `rloo` (leave-one-out, Ahmadian et al. 2024), `reinforce++` (Hu 2025). */
  estimator: z.enum(['grpo', 'rloo', 'reinforce++']).default('grpo'),
  /** `group` divides by the group's std (GRPO); `none` only centres (Dr. GRPO, Liu et al. 2025). */
  scale: z.enum(['group', 'none']).default('group'),
  /** PPO-style ratio clip (GRPO keeps PPO's surrogate: 0.2). */
  clipRange: z.number().gt(0).lt(1).default(0.2),
  /** KL coefficient: in the loss for grpo/rloo (TRL: 0.04), in the reward for reinforce++. */
  klCoef: z.number().min(0).default(0.04),
  /** k3 is GRPO's unbiased, non-negative estimator (Shao et al. 2024, Eq. 4). */
  klEstimator: z.enum(['k1', 'k2', 'k3']).default('k3'),
  epochs: z.int().min(1).max(64).default(1),
  minibatches: z.int().min(1).default(1),
});

/** An evaluation is the exact-match accuracy of one sample on each of 200 held-out prompts. */
const grpoTrainerSection = policyTrainerSection({ steps: 100, learningRate: 5e-5, weightDecay: 0, evalEvery: 25, evalPrompts: 200, evalSamplesPerPrompt: 1 });

export const grpoConfigSchema = stageConfigSchema('grpo', {
  roles: GRPO_ROLES,
  inputs: {
    /** Your reward functions, summed by weight: the training signal instead of the task's gold reward. */
    rewards: RewardsConfigSchema.optional(),
  },
  init: {
    ...policyInit,
    /** A reward model to score samples; omit to use the task's verifiable gold reward. */
    reward: modelFileSchema.optional(),
  },
  own: { rollout: grpoRolloutSection.prefault({}), algo: grpoAlgoSection.prefault({}), trainer: grpoTrainerSection.prefault({}) },
  heldOut: 'GRPO evaluates on held-out prompts',
  check: (config, context, { roles, derived }) => {
    requireStartingPolicy(context, config, 'GRPO');
    requireThat(context, config.data === undefined || config.rewards !== undefined, ['rewards'], `data (${config.data?.train}) needs rewards: [{ module, export, weight }]; the task's gold reward knows only the task's own prompts`);
    requireThat(context, !(config.rewards && config.init.reward), ['init', 'reward'], `give either a reward model (init.reward: ${config.init.reward}) or reward functions (rewards), not both`);
    const rows = config.rollout.promptsPerStep * config.rollout.samplesPerPrompt;
    const minibatchSize = rows / config.algo.minibatches;
    if (requireThat(context, Number.isInteger(minibatchSize), ['algo', 'minibatches'], `promptsPerStep x samplesPerPrompt (${rows}) must be divisible by algo.minibatches (${config.algo.minibatches})`)) {
      const ranks = roles.policy!.groupSize;
      requireThat(context, minibatchSize >= ranks, ['runtime', 'roles', 'policy', 'groupSize'], `each minibatch (${minibatchSize} rows) needs at least one row per policy rank (${ranks})`);
    }
    const rolloutRanks = roles.rollout!.groupSize;
    requireThat(context, config.rollout.promptsPerStep >= rolloutRanks, ['rollout', 'promptsPerStep'], `rollout.promptsPerStep (${config.rollout.promptsPerStep}) must give every rollout worker (${rolloutRanks}) a prompt`);
    const shapes = derived && withRolloutLimits(derived, config.rollout, context);
    return shapes && { ...shapes, rowsPerStep: rows, minibatchSize };
  },
});

/** The task's prompt and completion lengths, or `rollout.promptTokens` / `completionTokens` where set (data prompts). */
export function withRolloutLimits(derived: DerivedShapes, rollout: { promptTokens?: number | undefined; completionTokens?: number | undefined }, context: z.RefinementCtx): DerivedShapes | undefined {
  const promptTokens = rollout.promptTokens ?? derived.promptTokens;
  const completionTokens = rollout.completionTokens ?? derived.completionTokens;
  const sequenceTokens = Math.max(derived.sequenceTokens, promptTokens + completionTokens);
  if (rollout.promptTokens === undefined && rollout.completionTokens === undefined) return derived;
  const positions = modelPositions(derived.model);
  const ok = requireThat(context, promptTokens + completionTokens <= positions, ['rollout', 'promptTokens'], `rollout.promptTokens + completionTokens (${promptTokens} + ${completionTokens}) must fit the model's ${positions} positions`);
  return ok ? { ...derived, promptTokens, completionTokens, sequenceTokens } : undefined;
}

export type GRPOConfigInput = z.input<typeof grpoConfigSchema>;
export type GRPOConfig = z.output<typeof grpoConfigSchema>;

export function parseGrpoConfig(input: unknown, prefix = ''): GRPOConfig {
  return parseConfig(grpoConfigSchema, input, prefix);
}
