/**
 * The programmatic API: one trainer per method, each built from the same config objects the recipes use.
 *
 * @example
 * import { PPOTrainer } from 'posttrain';
 * const trainer = new PPOTrainer({ task: { name: 'sentiment' }, init: { policy: 'runs/ppo/sft/model', reward: 'runs/ppo/reward/model' } });
 * trainer.on('step', (metrics) => console.log(metrics.step, metrics.goldReward));
 * const summary = await trainer.train();
 */
export { SFTTrainer } from './sft-trainer.ts';
export { RewardTrainer } from './reward-trainer.ts';
export { PPOTrainer } from './ppo-trainer.ts';
export { DPOTrainer } from './dpo-trainer.ts';
export { GRPOTrainer } from './grpo-trainer.ts';
export { Trainer } from './trainer.ts';
export { sftConfigSchema, parseSftConfig, type SFTConfig, type SFTConfigInput } from './sft-config.ts';
export { rewardConfigSchema, parseRewardConfig, type RewardConfig, type RewardConfigInput } from './reward-config.ts';
export { ppoConfigSchema, parsePpoConfig, type PPOConfig, type PPOConfigInput } from './ppo-config.ts';
export { dpoConfigSchema, parseDpoConfig, type DPOConfig, type DPOConfigInput } from './dpo-config.ts';
export { grpoConfigSchema, parseGrpoConfig, type GRPOConfig, type GRPOConfigInput } from './grpo-config.ts';
export { defineRecipe, planRecipe, runRecipe, STAGES, type RecipeInput, type RecipePlan, type StageName } from './recipe.ts';
export type { TrainerEvents, TrainerOptions } from './run-session.ts';
