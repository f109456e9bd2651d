/**
 * SFT -> DPO on the sentiment task's preference pairs (Rafailov et al. 2023): no reward model, no sampling while
 * training. The gold reward judges the result.
 *
 *   npx recipe run recipes/dpo.ts                       # about 4 minutes on 2 cores
 */
import { defineRecipe } from '../trainers/recipe.ts';

export default defineRecipe({
  name: 'dpo',
  task: { name: 'sentiment' },
  model: {},
  stages: {
    sft: { trainer: { steps: 300, batchSize: 64 } },
    dpo: {
      // beta 0.3 instead of the paper's 0.1 (measured, lr 5e-5, 120 steps): at 0.1 seed 0 reached 0.39 but seed 1
      // fell to -0.55 at KL 6.4 (the chosen completions' likelihood sank with the rejected ones); at 0.3 both seeds
      // gain (+0.62, +0.39) at KL below 1. At 1e-4 the policy drifts after ~80 steps.
      algo: { beta: 0.3 },
      trainer: { steps: 120, batchSize: 32, learningRate: 5e-5, labelNoise: 0.1, evalEvery: 40 },
    },
  },
});
