/**
 * Your data and your reward: SFT on a prompt-completion file, then GRPO on a prompt-only file scored by a reward
 * module you write, from a fresh Hugging Face Llama with GPT-2's tokenizer. Nothing comes from a built-in task:
 * the prompts, demonstrations and `answer` column are examples/data/arithmetic/*.jsonl, the reward is
 * examples/rewards/math.ts (`accuracy`: the final number equals `answer`; `format`: a `#### <n>` line).
 *
 * No set-up: `model.init` writes the fresh Llama (GPT-2's tokenizer, tiny's sizes) into runs/grpo-files-llama on
 * the first run, seeded by model.initSeed (`recipe model init --out DIR --tokenizer gpt2` writes the same bytes).
 * From the repository root:
 *
 *   npx recipe run recipes/grpo-files.ts
 *   npx recipe run recipes/grpo-files.ts --set data.train=my-prompts.jsonl   # GRPO on your prompts
 *
 * The top-level `data` and `rewards` go to every stage that reads them (`rewards`: GRPO only); the SFT stage sets
 * its own `data`, which replaces the top-level one. Data and reward paths written here are relative to this file,
 * paths given with --set to where the command runs; `model.from` is relative to where the command runs. `task` is
 * still required by the schema: with `data` it only supplies defaults that the settings below replace (its prompts
 * and gold reward are not used).
 *
 * What made it learn (measured 2026-12-07 on the 2 shared cores, load average 10-20, wasm + OpenBLAS; figures from
 * runs/<name>/{sft,grpo}/metrics.jsonl and summary.json). GRPO sharpens what the SFT policy can already sometimes
 * do, so the fix was the SFT policy, not GRPO's settings:
 *   - With operands 1-9 (126 sums and differences) the SFT policy did not even copy the operands (" 15 - 2 = 5\n####
 *     2" for "9 ... gives away 2"), answered 10-15% right by chance, and GRPO at 3e-4 (30 steps, two seeds) left
 *     held-out accuracy where it was (0.115, 0.10 at step 15). The loss sign, the per-group advantage normalisation
 *     and the masking of tokens after EOS were read (ppo-clip.ts, group.ts, generate.ts: as DeepSeekMath and TRL
 *     have them); entropy stayed 1.0-1.15 at 3e-4.
 *   - Operands 1-5 now (40 facts, data/generate/arithmetic-word-problems.ts): SFT held-out loss 0.82 / 0.37 / 0.16 at
 *     steps 50 / 100 / 150 (lr 3e-3, tiny's hidden 128), a policy right 44.5% of the time at temperature 1 with
 *     almost every group of 8 mixed: the signal GRPO needs. Hidden 64 (`model.init.hidden`) ran barely faster
 *     under load (18.7 vs 19.2 min side by side) and reached a held-out loss of only 0.42 (accuracy 0.20 -> 0.245
 *     after 24 GRPO steps, one seed).
 *   - topK 50 (transformers' default): sampling with topK 0 sorts all 50257 logits for every generated token
 *     (rollout/sampling.ts, ~16 ms a row), which made generation most of a GRPO step.
 *
 * LEARNS, as one command per seed on a quiet machine (2026-12-07, load average 1-2.5, nothing else running; wasm +
 * OpenBLAS; `npx recipe run recipes/grpo-files.ts [--set seed=N --set name=grpo-files-sN]`, N = 0 (the default), 1,
 * 2: each seed's own SFT and GRPO; 100 held-out prompts x 2 samples at temperature 1 with a fixed evaluation seed,
 * so before and after see the same random numbers; standard error of one evaluation ~0.032 at accuracy 0.3):
 *   - seed 0 (the command without --set): SFT held-out loss 0.16 (2.7 min); accuracy 0.445 -> 0.57 (step 24) -> 0.535
 *     (step 48), reward 0.634 -> 0.766 -> 0.731, format 0.945 -> 0.98, KL 0.31 (GRPO 2.9 min). 5.7 min in all.
 *   - seed 1: SFT held-out loss 0.32 (3.8 min); accuracy 0.265 -> 0.35 (step 24) -> 0.335 (step 48), reward
 *     (accuracy + 0.2 format) 0.455 -> 0.545 -> 0.530, format 0.95 -> 0.975, KL 0.40 (GRPO 3.4 min). 7.3 min in all.
 *   - seed 2: SFT held-out loss 0.21 (3.1 min); accuracy 0.285 -> 0.295 -> 0.365, reward 0.481 -> 0.488 -> 0.562,
 *     format 0.98 -> 0.985, KL 0.35 (GRPO 3.2 min). 6.4 min in all.
 *   GRPO adds +0.09, +0.07 and +0.08 accuracy (+0.097 / +0.075 / +0.081 reward), each over 2 standard errors of one
 *   evaluation and about the same on every seed. The SFT policy's own accuracy depends on its seed's data order
 *   (0.445 / 0.265 / 0.285). On seed 0's SFT model, GRPO seeds 1 and 2 gave 0.54 / 0.56 (split into two scratch
 *   recipes on a loaded machine earlier).
 *   Entropy per token rose 0.22 -> 0.29-0.33 while accuracy rose (in-loss KL to the reference stayed <= 0.05).
 *   test/recipes/grpo-files.test.ts runs the recipe from a fresh clone at a tiny budget (hidden 64, SFT 60 steps, GRPO
 *   16) and asserts that GRPO raises the held-out reward and format share: 108 s wall, 118 s CPU at load 2-6.
 */
import { defineRecipe } from '../trainers/recipe.ts';

export default defineRecipe({
  name: 'grpo-files',
  task: { name: 'arithmetic' },
  // A fresh Llama with GPT-2's tokenizer and tiny's sizes, written here on the first run (model.init, seeded by
  // model.initSeed). Tiny's hidden 128, not 64: 64 learned the sums less well in as many steps (header).
  model: { from: 'runs/grpo-files-llama', init: { tokenizer: 'gpt2' } },
  // GRPO's prompts (with an `answer` column) and its held-out prompts.
  data: { train: '../examples/data/arithmetic/prompts.jsonl', eval: '../examples/data/arithmetic/prompts-eval.jsonl' },
  // The training signal: accuracy plus a small bonus for the `#### <n>` format (TRL's reward_weights).
  rewards: [
    { module: '../examples/rewards/math.ts', export: 'accuracy', weight: 1 },
    { module: '../examples/rewards/math.ts', export: 'format', weight: 0.2 },
  ],
  stages: {
    sft: {
      // 450 demonstrations train, 50 held out for the held-out loss: 0.82 / 0.37 / 0.16 at steps 50 / 100 / 150 (lr
      // 3e-3, measured); the policy then answers ~45% of held-out problems right when sampling (header).
      data: { train: '../examples/data/arithmetic/sft.jsonl', evalFraction: 0.1 },
      trainer: { steps: 150, batchSize: 16, learningRate: 3e-3, evalEvery: 50, evalExamples: 50, evalPrompts: 0 },
    },
    grpo: {
      // The word problems take up to ~16 GPT-2 tokens, " 3 + 4 = 7\n#### 7" 8. Groups of 8: 75-100% of them mixed at
      // the SFT policy's ~45% (with 4, a weaker policy left most groups all-wrong: no signal). topK 50: see the header.
      rollout: { promptsPerStep: 8, samplesPerPrompt: 8, topK: 50, promptTokens: 32, completionTokens: 16 },
      // 48 steps: +0.045 / +0.08 accuracy at 24, +0.095 / +0.115 at 48 (header). 3e-4: 1e-3 raised entropy and KL to
      // 3-8 without gain (hidden 128, operands 1-9). evalPrompts x evalSamplesPerPrompt = 200 held-out samples: one
      // evaluation's standard error is about 0.035 at accuracy 0.45.
      trainer: { steps: 48, learningRate: 3e-4, evalEvery: 24, evalPrompts: 100, evalSamplesPerPrompt: 2 },
    },
  },
});
