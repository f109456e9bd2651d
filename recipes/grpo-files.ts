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
      trainer: { steps: 150, batchSize: 16, learningRate: 1e-3, evalEvery: 50, evalExamples: 50, evalPrompts: 0 },
    },
    grpo: {
      // The word problems take up to ~20 GPT-2 tokens; " 7 + 15 = 22\n#### 22" about 10.
      rollout: { promptsPerStep: 4, samplesPerPrompt: 4, promptTokens: 32, completionTokens: 16 },
      trainer: { steps: 30, learningRate: 3e-4, evalEvery: 10, evalPrompts: 100 },
    },
  },
});
