/**
 * Your preference pairs, end to end: SFT -> reward model -> DPO -> PPO from files only, on a fresh Hugging Face
 * Llama with GPT-2's tokenizer. DPO first (cheap alignment: no sampling, no reward model), then PPO on top of the
 * DPO policy with a reward model the reward stage trains on the same preference pairs (how production teams
 * combine them). Nothing comes from a built-in task: the data is examples/data/preferences/*.jsonl (calm notes
 * preferred to shouted ones; regenerate with `node --import tsx data/generate/style-preferences.ts`), and the
 * held-out reward is examples/rewards/style.ts (`calm`: 1 for a calm note).
 *
 * From the repository root (the first run writes the fresh model folder itself: `model.init` below):
 *
 *   npx recipe run recipes/sft-dpo-ppo-files.ts
 *   npx recipe run recipes/sft-dpo-ppo-files.ts --set data.train=my-pairs.jsonl   # reward model and DPO on your pairs
 *
 * The top-level `data` (preference pairs) goes to the stages that read pairs (reward, DPO); SFT and PPO set their
 * own (demonstrations, prompts), which replace it. The top-level `rewards` reach DPO (they score its evaluation
 * samples: the held-out gold metric; DPO does not train on them) and PPO (added to the reward model's score).
 * Paths here are relative to this file; `model.from` is relative to where the command runs. `task` is still
 * required by the schema: with `data` it only supplies defaults that the settings below replace.
 *
 * LoRA: DPO and PPO train adapters (`stages.<stage>.model.lora`, r 8, alpha 16, all seven linear layers) on the
 * model they start from; SFT and the reward model train in full (SFT teaches a fresh model to write the notes at
 * all; adapters are for nudging a model that already does). Each LoRA stage's reference is its starting model with the adapters
 * off (no second copy), and only the adapters (PPO's value model: its adapters and score head) train, travel to the
 * rollout workers and are checkpointed (a PPO shard 150 KB + 300 KB of Adam moments against SFT's 27 + 54 MB). A
 * LoRA stage writes `model/`, the merged model the next stage and transformers load, and `adapter/` in PEFT's
 * format: adapter_config.json + adapter_model.safetensors, 153 KB against the model's 27 MB (37,376 of 6,802,176
 * parameters, 0.55 %). `npx recipe export runs/sft-dpo-ppo-files --stage ppo --out DIR` copies the adapter folder;
 * with `--merge-lora` it writes the merged model.
 *
 * Measured on a quiet machine (2026-12-07, load average 1-2.5, nothing else running; wasm + OpenBLAS; `npx recipe
 * run recipes/sft-dpo-ppo-files.ts --set seed=N --set name=sdp-sN`, N = 0, 1; figures from
 * runs/<name>/<stage>/summary.json). The held-out reward is `calmMessage`: the share of sampled notes that are calm
 * AND name the person and carry the prompt's message (DPO: 40 eval pairs' prompts x 2 samples, standard error
 * <= 0.056; PPO: prompts-eval.jsonl's 64 prompts x 2, <= 0.044):
 *   - SFT (full), 200 steps x 16 at 3e-3 (3.6 min): held-out loss 1.14 / 0.44 / 0.11 / 0.10 (seed 0) and 1.07 /
 *     0.42 / 0.16 / 0.11 (seed 1) at steps 50-200.
 *   - Reward model (full), 30 steps x 16 (14-16 s): held-out pair accuracy 1.00 / 1.00 (40 pairs).
 *   - DPO (LoRA), 30 steps x 16 at 2e-4 (1 min): held-out preference accuracy 0 -> 1.00 on both seeds; calmMessage
 *     0.36 -> 0.54 (seed 0) and 0.43 -> 0.59 (seed 1), KL 0.09 / 0.07.
 *   - PPO (LoRA) on top, 15 steps x 16 at 2e-3 (1.1 min): calmMessage 0.49 -> 0.87 (seed 0, KL 2.3) and 0.67 ->
 *     0.84 (seed 1, KL 0.66).
 *   About 6 minutes per seed in all. Both preference stages gain on both seeds beyond their standard errors (DPO
 *   +0.18 / +0.16, ~3 SE; PPO +0.38 / +0.17, ~8 / ~4 SE), and the notes after PPO are whole notes (" Dear Hana,
 *   the letters are gone. Thanks."); the misses are a garbled name (" Dear Levo" for Lea) or a shouted note.
 *   Why calmMessage and 200 SFT steps: the earlier recipe (SFT 60 steps at 2e-3, held-out loss 0.74; reward `calm`:
 *   a full stop, no "!", no shouted word) reported calm share 0.50 -> 0.97 and 0.28 -> 1.00 after PPO, but most of
 *   those notes were a bare " Thanks.", and the SFT policy almost never wrote a note that named the person and
 *   said the message (calmMessage 0.00 at every stage of seed 0): the reward was gamed and the SFT model too weak
 *   to be aligned. `calm` stays in examples/rewards/style.ts as the simpler example.
 *   Also measured with the earlier recipe (under load): PPO in full (2e-4) games `calm` as much (0.50 -> 0.91); LoRA
 *   DPO at 5e-4, 10x full DPO's 5e-5, over-optimised (KL 11.9); before LoRA (every stage in full) PPO 0.44 -> 0.94.
 */
import { defineRecipe } from '../trainers/recipe.ts';

/** Adapters on every linear layer of the model the stage starts from; its reference is that model with them off. */
const LORA = { rank: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] } as const;

export default defineRecipe({
  name: 'sft-dpo-ppo-files',
  task: { name: 'sentiment' },
  // The first run writes a fresh GPT-2-tokenizer Llama (the `tiny` shape) to `from` when it holds no model (`model.init`).
  model: { from: 'runs/sft-dpo-ppo-llama', init: { tokenizer: 'gpt2' } },
  // The reward model's and DPO's pairs: 360 train, 40 held out (preference accuracy, reward margin).
  data: { train: '../examples/data/preferences/preferences.jsonl', evalFraction: 0.1 },
  // The held-out reward (and PPO's, added to the reward model's score): the share of calm notes that deliver their
  // prompt's message, among samples of held-out prompts. `calm` alone was gamed: PPO learned a bare " Thanks." (header).
  rewards: [{ module: '../examples/rewards/style.ts', export: 'calmMessage', weight: 1 }],
  stages: {
    sft: {
      // Demonstrations in both styles (alternating), so that after SFT both are likely and preference training has a choice to move.
      data: { train: '../examples/data/preferences/sft.jsonl', evalFraction: 0.1 },
      // 200 steps at 3e-3: held-out loss 1.14 / 0.44 / 0.11 / 0.10 at steps 50-200, and the notes then name the
      // person and carry the message. At 60 steps (2e-3, loss 0.74) almost no sampled note did (header).
      trainer: { steps: 200, batchSize: 16, learningRate: 3e-3, evalEvery: 50, evalExamples: 40, evalPrompts: 0 },
    },
    reward: {
      trainer: { steps: 30, batchSize: 16, learningRate: 1e-3, evalEvery: 15, evalPairs: 40 },
    },
    dpo: {
      // LoRA at 2e-4 (4x full DPO's 5e-5): KL 0.07-0.09 after 30 steps; at 5e-4 it over-optimised (KL 12) on the
      // earlier, weaker SFT model, as full DPO did at 5e-4.
      model: { lora: LORA },
      // Prompts take ~9 GPT-2 tokens, a calm note ~11 and a shouted one ~16.
      rollout: { promptTokens: 16, completionTokens: 20 },
      trainer: { steps: 30, batchSize: 16, learningRate: 2e-4, evalEvery: 15, evalPairs: 40, evalPrompts: 40, evalSamplesPerPrompt: 2 },
    },
    ppo: {
      // LoRA at 2e-3 (10x full PPO's 2e-4, as LoRA usually wants): KL 0.66-2.3 after 15 steps.
      model: { lora: LORA },
      // Prompts of the held-out notes are never trained on.
      data: { train: '../examples/data/preferences/prompts.jsonl', eval: '../examples/data/preferences/prompts-eval.jsonl' },
      rollout: { batchSize: 16, promptTokens: 16, completionTokens: 20 },
      algo: { epochs: 2, minibatches: 2 },
      trainer: { steps: 15, learningRate: 2e-3, evalEvery: 0, evalPrompts: 64, evalSamplesPerPrompt: 2 },
    },
  },
});
