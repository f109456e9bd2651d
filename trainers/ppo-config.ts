/**
 * PPO with four roles (policy, reference, reward model, value model), as in Ziegler et al. 2019 and InstructGPT.
 * Defaults follow the anchors (OpenRLHF / TRL / the peer benchmark) unless a comment says they were measured:
 * clip 0.2, value clip 0.2, gamma 1, lambda 0.95, k1 KL in the reward at 0.05, 4 epochs x 4 minibatches.
 */
import { z } from 'zod';
import { RewardsConfigSchema } from '../rollout/reward-functions.ts';
import { parseConfig } from '../models/config-parse.ts';
import { withRolloutLimits } from './grpo-config.ts';
import { modelFileSchema, policyInit, policyTrainerSection, requireStartingPolicy, requireThat } from './config-sections.ts';
import { stageConfigSchema } from './stage-config.ts';
import { frozenRole, ROLLOUT_ROLE, trainableRole } from './role-sizes.ts';

/** PPO's roles and how many ranks each may run. */
export const PPO_ROLES = [trainableRole('policy'), frozenRole('reference'), frozenRole('reward'), trainableRole('value'), ROLLOUT_ROLE];

// ------------------------------------------------------------------------------------------------ rollout

const rolloutSection = z.strictObject({
  /** Prompts per PPO iteration (the peer benchmark: 64). */
  batchSize: z.int().min(1).default(64),
  /** Sampling temperature (1 = the policy as trained; PPO's log-probs are at temperature 1). */
  temperature: z.number().positive().max(10).default(1),
  /** Keep only the k most likely tokens (0 = off). */
  topK: z.int().min(0).default(0),
  /** Nucleus sampling mass (1 = off). */
  topP: z.number().gt(0).max(1).default(1),
  /** End rows at EOS; false always generates the task's full completion length (the peer benchmark does). */
  stopAtEos: z.boolean().default(true),
  /** Prompt slots (left-padded); default the task's. Set it for `data` prompts longer than the task's. */
  promptTokens: z.int().min(1).optional(),
  /** Tokens generated per sample; default the task's. */
  completionTokens: z.int().min(1).optional(),
});

// ------------------------------------------------------------------------------------------------ algorithm

const adaptiveKlSection = z.strictObject({
  /** Target KL per sequence (Ziegler et al. 2019 used 6 nats on their task; scale to yours). */
  target: z.number().positive(),
  /** Horizon in samples over which the coefficient adapts (Ziegler et al.: 10,000). */
  horizon: z.number().positive().default(10_000),
});

const ppoAlgoSection = z.strictObject({
  /** PPO ratio clip epsilon (Schulman et al. 2017: 0.2). */
  clipRange: z.number().gt(0).lt(1).default(0.2),
  /** Upper clip when asymmetric ("clip-higher", DAPO); default = clipRange. */
  clipRangeHigh: z.number().gt(0).optional(),
  /** Dual-clip bound c > 1 for negative advantages (Ye et al. 2020); omit for none. */
  dualClip: z.number().gt(1).optional(),
  /** Value-prediction clip around the old values (OpenAI baselines PPO2: 0.2); 0 = unclipped. */
  valueClipRange: z.number().min(0).default(0.2),
  /** Discount (1 for episodic text generation). */
  gamma: z.number().min(0).max(1).default(1),
  /** GAE lambda (0.95 as OpenRLHF/TRL). */
  lambda: z.number().min(0).max(1).default(0.95),
  /** KL coefficient beta of the per-token reward -beta * KL (0.05 as the peer and TRL's init_kl_coef). */
  klCoef: z.number().min(0).default(0.05),
  /** KL estimator in the reward (k1 = log ratio, as Ziegler et al.). */
  klEstimator: z.enum(['k1', 'k2', 'k3']).default('k1'),
  /** Adapt beta towards a target KL (Ziegler et al. 2019, Eq. 3); null = fixed beta. */
  adaptiveKl: adaptiveKlSection.nullable().default(null),
  /** Whiten advantages over the batch. */
  whitenAdvantages: z.boolean().default(true),
  /** Passes over each batch. */
  epochs: z.int().min(1).max(64).default(4),
  /** Minibatches per epoch; must divide rollout.batchSize. */
  minibatches: z.int().min(1).default(4),
});

// ------------------------------------------------------------------------------------------------ trainer

/**
 * The policy's learning rate is the peer's, 1e-5 at bench-S scale (the recipes set what they measured). An
 * evaluation is the gold reward and KL on held-out prompts.
 */
const ppoTrainerSection = policyTrainerSection({ steps: 100, learningRate: 1e-5, weightDecay: 0, evalEvery: 25, evalPrompts: 26, evalSamplesPerPrompt: 4 }).extend({
  /** Value-model learning rate (default: the policy's). */
  valueLearningRate: z.number().positive().max(1).optional(),
});

// ------------------------------------------------------------------------------------------------ config

export const ppoConfigSchema = stageConfigSchema('ppo', {
  roles: PPO_ROLES,
  inputs: {
    /**
     * Your reward functions, summed by weight and added to the reward model's score (when there is one) as the
     * reward; each is logged on its own. Weight 0 measures a function without training on it.
     */
    rewards: RewardsConfigSchema.optional(),
  },
  init: {
    ...policyInit,
    /** The trained reward model (a reward stage's, or any *ForSequenceClassification folder); optional with `rewards`. */
    reward: modelFileSchema.optional(),
    /** The value model's start (default: the reward model, as InstructGPT; without one, the policy's start). */
    value: modelFileSchema.optional(),
  },
  own: { rollout: rolloutSection.prefault({}), algo: ppoAlgoSection.prefault({}), trainer: ppoTrainerSection.prefault({}) },
  heldOut: 'PPO evaluates on held-out prompts',
  check: (config, context, { roles, derived }) => {
    requireStartingPolicy(context, config, 'PPO');
    requireThat(context, config.init.reward !== undefined || config.rewards !== undefined, ['init', 'reward'], 'PPO needs a reward: a reward model (add a reward stage or set init.reward), reward functions (rewards), or both');
    requireThat(context, config.data === undefined || config.rewards !== undefined, ['rewards'], `data (${config.data?.train}) needs rewards: [{ module, export, weight }] to score its eval prompts (weight 0 measures without training on it); the task's gold reward knows only the task's own prompts`);
    const { rollout, algo } = config;
    const minibatchSize = rollout.batchSize / algo.minibatches;
    if (requireThat(context, Number.isInteger(minibatchSize), ['algo', 'minibatches'], `rollout.batchSize (${rollout.batchSize}) must be divisible by algo.minibatches (${algo.minibatches})`)) {
      for (const role of ['policy', 'value'] as const) {
        const ranks = roles[role]!.groupSize;
        requireThat(context, minibatchSize >= ranks, ['runtime', 'roles', role, 'groupSize'], `each minibatch (${minibatchSize} rows) needs at least one row per ${role} rank (${ranks})`);
      }
    }
    const rolloutRanks = roles.rollout!.groupSize;
    requireThat(context, rollout.batchSize >= rolloutRanks, ['rollout', 'batchSize'], `rollout.batchSize (${rollout.batchSize}) must give every rollout worker (${rolloutRanks}) a prompt`);
    const shapes = derived && withRolloutLimits(derived, rollout, context);
    return shapes && { ...shapes, minibatchSize };
  },
});

export type PPOConfigInput = z.input<typeof ppoConfigSchema>;
export type PPOConfig = z.output<typeof ppoConfigSchema>;

export function parsePpoConfig(input: unknown, prefix = ''): PPOConfig {
  return parseConfig(ppoConfigSchema, input, prefix);
}
