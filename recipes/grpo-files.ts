/**
 * Your data and your reward: SFT on a prompt-completion file, then GRPO on a prompt-only file scored by a reward
 * module you write, from a fresh Hugging Face Llama with GPT-2's tokenizer. Nothing comes from a built-in task:
 * the prompts, demonstrations and `answer` column are examples/data/arithmetic/*.jsonl, the reward is
 * examples/rewards/math.ts (`accuracy`: the final number equals `answer`; `format`: a `#### <n>` line).
 *
 * First create the model folder (once; a recipe cannot run commands), from the repository root:
 *
 *   npx recipe model init --out runs/grpo-files-llama --tokenizer gpt2
 *   npx recipe run recipes/grpo-files.ts
 *   npx recipe run recipes/grpo-files.ts --set data.train=my-prompts.jsonl   # GRPO on your prompts
 *
 * The top-level `data` and `rewards` go to every stage that reads them (`rewards`: GRPO only); the SFT stage sets
 * its own `data`, which replaces the top-level one. Data and reward paths written here are relative to this file,
 * paths given with --set to where the command runs; `model.from` is relative to where the command runs. `task` is
 * still required by the schema: with `data` it only supplies defaults that the settings below replace (its prompts
 * and gold reward are not used).
 *
 * Measured (seeds 0 and 1 via --set seed=N, one model folder, 2 shared cores, wasm + OpenBLAS, the settings below;
 * `npx recipe run recipes/grpo-files.ts --name gf-seed0 --force`, figures from runs/<name>/{sft,grpo}/metrics.jsonl
 * and summary.json):
 *   - SFT, 80 steps x 16 (3.8-5.2 min): training loss 10.9 at step 1; held-out loss 1.93 / 1.90 at step 40 and
 *     1.33 / 1.45 at step 80. Samples then have the demonstrations' shape (" 4 + 3 = 21\n#### 18"), wrong numbers.
 *   - GRPO, 15 steps x 4 prompts x 4 samples (1.7-2.4 min), the first 50 prompts-eval.jsonl prompts, 1 sample
 *     each: accuracy 0.04 -> 0.04 (seed 0) and 0.08 -> 0.02 (seed 1); format 0.72 -> 0.78 and 0.74 -> 0.82; KL to
 *     the reference 0.37 and 0.28. No learning beyond noise (the standard error of an accuracy of 0.05 on 50
 *     samples is 0.03, of 0.75 is 0.06): this budget proves the path runs end to end from files, not that GRPO
 *     improves this model. A longer SFT (the numbers are not learned yet) and more GRPO steps are what to measure next.
 */
import { defineRecipe } from '../trainers/recipe.ts';

export default defineRecipe({
  name: 'grpo-files',
  task: { name: 'arithmetic' },
  model: { from: 'runs/grpo-files-llama' },
  // GRPO's prompts (with an `answer` column) and its held-out prompts.
  data: { train: '../examples/data/arithmetic/prompts.jsonl', eval: '../examples/data/arithmetic/prompts-eval.jsonl' },
  // The training signal: accuracy plus a small bonus for the `#### <n>` format (TRL's reward_weights).
  rewards: [
    { module: '../examples/rewards/math.ts', export: 'accuracy', weight: 1 },
    { module: '../examples/rewards/math.ts', export: 'format', weight: 0.2 },
  ],
  stages: {
    sft: {
      // 450 demonstrations train, 50 held out for the held-out loss.
      data: { train: '../examples/data/arithmetic/sft.jsonl', evalFraction: 0.1 },
      trainer: { steps: 80, batchSize: 16, learningRate: 2e-3, evalEvery: 40, evalExamples: 50, evalPrompts: 0 },
    },
    grpo: {
      // The word problems take up to ~20 GPT-2 tokens; " 7 + 15 = 22\n#### 22" about 10.
      rollout: { promptsPerStep: 4, samplesPerPrompt: 4, promptTokens: 32, completionTokens: 16 },
      trainer: { steps: 15, learningRate: 3e-4, evalEvery: 0, evalPrompts: 50 },
    },
  },
});
