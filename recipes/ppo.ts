/**
 * The classic RLHF pipeline on the sentiment task (Ziegler et al. 2019; InstructGPT): SFT on demonstrations ->
 * a reward model from noisy preference labels -> PPO against the reward model with a KL penalty to the SFT model.
 * The gold reward (never seen by any model) judges the result: `summary.json` compares it before and after PPO.
 *
 *   npx recipe run recipes/ppo.ts                       # 8:17 on 2 cores (measured, nothing else running)
 *   npx recipe run recipes/ppo.ts --set stages.ppo.trainer.steps=10
 */
import { defineRecipe } from '../trainers/recipe.ts';

export default defineRecipe({
  name: 'ppo',
  task: { name: 'sentiment' },
  // bench-S: 2 layers, 4 heads, d_model 128, context 64 (the defaults).
  model: {},
  stages: {
    sft: {
      // 300 steps of 64 bring held-out loss to ~0.49 nats/token (measured); more adds little on this corpus.
      trainer: { steps: 300, batchSize: 64 },
    },
    reward: {
      // 150 steps reach ~89% held-out accuracy against the gold order with 10% label noise (measured).
      trainer: { steps: 150, batchSize: 64, labelNoise: 0.1 },
    },
    ppo: {
      rollout: { batchSize: 64 },
      // 1e-4 instead of the large-model 1e-5: bench-S is tiny; measured to learn in tens of steps.
      trainer: { steps: 30, learningRate: 1e-4, evalEvery: 10 },
      // beta 0.1 instead of 0.05: at 0.05 the policy over-optimises the reward model after ~20 steps (gold reward
      // peaks at 0.96 and falls to 0.35 by step 30); at 0.1 it ends at 0.96 with KL 3.8 nats (measured, seed 0).
      algo: { klCoef: 0.1 },
    },
  },
});
