/**
 * The one table of methods: each stage name with its config parser, trainer class, roles and where its models
 * start in a recipe. `recipe run` plans stages from it, `recipe resume` rebuilds a run's trainer from the method
 * named in its config.json, and the sweep launcher builds trials from it; adding a method is one entry here.
 *
 * @example
 * const { parse, Trainer } = METHODS.dpo;
 * const summary = await new Trainer(parse({ task: { name: 'sentiment' }, init: { policy: 'runs/x/sft/model' } }), {}).train();
 */
import { DPO_ROLES, parseDpoConfig } from './dpo-config.ts';
import { DPOTrainer } from './dpo-trainer.ts';
import { GRPO_ROLES, parseGrpoConfig } from './grpo-config.ts';
import { GRPOTrainer } from './grpo-trainer.ts';
import { parsePpoConfig, PPO_ROLES } from './ppo-config.ts';
import { PPOTrainer } from './ppo-trainer.ts';
import { parseRewardConfig, REWARD_ROLES } from './reward-config.ts';
import { RewardTrainer } from './reward-trainer.ts';
import type { RoleSizing } from './role-sizes.ts';
import type { TrainerOptions } from './run-session.ts';
import type { StageConfig } from './run-stage.ts';
import { parseSftConfig, SFT_ROLES } from './sft-config.ts';
import { SFTTrainer } from './sft-trainer.ts';
import type { Trainer } from './trainer.ts';

/**
 * Stages run in this order; a recipe names the ones it wants. DPO comes before PPO so that a recipe with both runs
 * PPO on top of the DPO policy (cheap alignment first, then on-policy RL: how production teams combine them).
 */
export const STAGES = ['sft', 'reward', 'dpo', 'ppo', 'grpo'] as const;
export type StageName = (typeof STAGES)[number];

/** The models earlier stages of a recipe wrote (`<run>/<stage>/model`), by stage. */
export type EarlierModels = Partial<Record<StageName, string>>;

export interface Method {
  /** Validates a config input and resolves it (defaults, derived sizes); throws a ConfigError listing every problem. */
  parse: (input: unknown) => StageConfig & Record<string, unknown>;
  /** The trainer class, built from a config input (validated again by its constructor). */
  Trainer: new (config: never, options: TrainerOptions) => Trainer<StageConfig>;
  /** The roles its trainer launches, and how many ranks each may run. */
  roles: readonly RoleSizing[];
  /** Its `init` in a recipe when the recipe does not set it: the earlier stages' models it starts from. */
  init: (models: EarlierModels) => Record<string, string | undefined>;
  /** The recipe's `data` and `rewards` sections it reads (top level or its own), when it reads any. */
  reads: readonly UserSection[];
}

/** Recipe sections that only some methods read: the user's dataset files and reward functions. */
export const USER_SECTIONS = ['data', 'rewards'] as const;
export type UserSection = (typeof USER_SECTIONS)[number];

export const METHODS: Record<StageName, Method> = {
  sft: { parse: parseSftConfig, Trainer: SFTTrainer, roles: SFT_ROLES, init: () => ({}), reads: ['data'] },
  reward: { parse: parseRewardConfig, Trainer: RewardTrainer, roles: REWARD_ROLES, init: (models) => ({ from: models.sft }), reads: ['data'] },
  dpo: { parse: parseDpoConfig, Trainer: DPOTrainer, roles: DPO_ROLES, init: (models) => ({ policy: models.sft }), reads: ['data', 'rewards'] },
  ppo: { parse: parsePpoConfig, Trainer: PPOTrainer, roles: PPO_ROLES, init: (models) => ({ policy: models.dpo ?? models.sft, reward: models.reward }), reads: ['data', 'rewards'] },
  grpo: { parse: parseGrpoConfig, Trainer: GRPOTrainer, roles: GRPO_ROLES, init: (models) => ({ policy: models.sft }), reads: ['data', 'rewards'] },
};

/** Whether `name` is a method of the table (e.g. the `method` read from a run's config.json). */
export function isStageName(name: unknown): name is StageName {
  return typeof name === 'string' && (STAGES as readonly string[]).includes(name);
}

/** The role names a stage's trainer launches. */
export function roleNamesOf(stage: StageName): string[] {
  return METHODS[stage].roles.map((role) => role.name);
}
