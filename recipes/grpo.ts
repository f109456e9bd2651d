/**
 * SFT -> GRPO on the arithmetic task (Shao et al. 2024): exact-match correctness is the reward, no reward model
 * and no value model; 8 samples per prompt form a group.
 *
 *   npx recipe run recipes/grpo.ts
 */
import { defineRecipe } from '../trainers/recipe.ts';

export default defineRecipe({
  name: 'grpo',
  task: { name: 'arithmetic' },
  model: {},
  stages: {
    // ~400 steps leave room for RL: the peer measured 10% exact match at 300 steps and 64% at 500.
    sft: { trainer: { steps: 400, batchSize: 64, evalPrompts: 200, evalSamplesPerPrompt: 1 } },
    grpo: {
      rollout: { promptsPerStep: 16, samplesPerPrompt: 8 },
      algo: { estimator: 'grpo', klCoef: 0.04 },
      trainer: { steps: 100, learningRate: 2e-4, evalEvery: 25 },
    },
  },
});
