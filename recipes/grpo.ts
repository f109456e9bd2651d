/**
 * SFT -> GRPO on the arithmetic task (Shao et al. 2024): exact-match correctness is the reward, no reward model
 * and no value model; 8 samples per prompt form a group.
 *
 *   npx recipe run recipes/grpo.ts                      # about 3 minutes on 2 cores
 */
import { defineRecipe } from '../trainers/recipe.ts';

export default defineRecipe({
  name: 'grpo',
  task: { name: 'arithmetic' },
  model: {},
  stages: {
    // ~400 steps leave room for RL (14% exact match, measured); SFT alone climbs steeply after ~450 steps.
    // 500 held-out problems in both evaluations: the standard error of an accuracy near 0.2 is then 0.018.
    sft: { trainer: { steps: 400, batchSize: 64, evalPrompts: 500, evalSamplesPerPrompt: 1 } },
    grpo: {
      rollout: { promptsPerStep: 16, samplesPerPrompt: 8 },
      algo: { estimator: 'grpo', klCoef: 0.04 },
      // 300 steps at 3e-4 (measured, seed 0): exact match 0.14 -> 0.31 (100 steps at 2e-4 reached only 0.21).
      trainer: { steps: 300, learningRate: 3e-4, evalEvery: 50, evalPrompts: 500 },
    },
  },
});
