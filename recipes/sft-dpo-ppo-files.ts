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
 * Measured (seeds 0 and 1, `--set seed=N --name sft-dpo-ppo-s<N>`, one model folder, 2 cores shared with other
 * work at load average 13-22, wasm + OpenBLAS, the settings below; figures from runs/<name>/<stage>/summary.json;
 * "calm share" = the held-out reward over 32 samples of held-out prompts, standard error sqrt(p (1 - p) / 32)):
 *   - SFT (full), 60 steps x 16 (4.5-5 min): held-out loss 2.46 / 2.38 at step 30, 0.74 / 0.77 at step 60.
 *   - Reward model (full), 30 steps x 16 (0.6-2.4 min): held-out pair accuracy 1.00 / 1.00 (40 pairs), margin 7.8 / 7.9.
 *   - DPO (LoRA), 30 steps x 16, learning rate 2e-4 (3 min): held-out preference accuracy 0 -> 1.00 on both seeds
 *     (40 pairs, reward margin 0.29 / 0.20), KL 1.0 / 0.9; calm share 0.28 -> 0.44 / 0.31 -> 0.25: as with full DPO,
 *     it ranks the pairs without by itself making the sampled notes calmer.
 *   - PPO (LoRA) on top, 15 steps x 16, learning rate 2e-3 (2 min), on PPO's eval prompts
 *     (examples/data/preferences/prompts-eval.jsonl): calm share 0.50 +- 0.09 -> 0.97 +- 0.03 (seed 0, KL 3.4 at
 *     the end, 2.2 mean over steps) and 0.28 +- 0.08 -> 1.00 (seed 1, KL 3.4 / 3.0).
 *   The pipeline learns beyond seed noise on both seeds (+0.47 and +0.72 after PPO). But most notes after PPO are a
 *   bare " Thanks.": calm by the rule (a full stop, no "!", no shouted word) and liked by the reward model, so the
 *   held-out reward is being gamed, not only learned. Each seed's SFT and reward stages ran once: `recipe run` with
 *   the same --name reuses every stage whose model exists for the same config and is newer than the models before
 *   it, so `--set stages.dpo.trainer.learningRate=...` retrains DPO and PPO only.
 *   Also measured, with those stages reused: PPO in full (2e-4, no `model.lora`) on the same LoRA DPO models 0.50 ->
 *   0.91 and 0.28 -> 0.94 (KL 3.1 / 6.7), with 4 and 5 of the 8 shown notes a bare " Thanks." (LoRA: 7 and 7): the
 *   gaming is the reward's, not LoRA's; its checkpoint shards are 27 MB. PPO (LoRA) at 1e-3: 0.50 -> 0.94 and 0.28
 *   -> 0.97 (KL 3.8 / 3.6), no less gamed. DPO (LoRA) at 5e-4, 10x full DPO's 5e-5, over-optimised (seed 1: KL
 *   11.9, margin 8.5), PPO after it 0.31 -> 0.91 (KL 3.7); full DPO at 5e-5 then PPO (LoRA) 0.38 -> 0.94 (seed 0,
 *   KL 12.6 at the end). Before LoRA (both stages in full, PPO at 2e-4, load ~30): PPO 0.44 -> 0.94 and 0.34 -> 0.97
 *   (KL 2.5 / 2.1).
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
  // The held-out reward: the share of calm notes that deliver their prompt's message, among samples of held-out
  // prompts. `calm` alone was gamed: PPO learned a bare " Thanks." (header).
  rewards: [{ module: '../examples/rewards/style.ts', export: 'calmMessage', weight: 1 }],
  stages: {
    sft: {
      // Demonstrations in both styles (alternating), so that after SFT both are likely and preference training has a choice to move.
      data: { train: '../examples/data/preferences/sft.jsonl', evalFraction: 0.1 },
      trainer: { steps: 60, batchSize: 16, learningRate: 2e-3, evalEvery: 30, evalExamples: 40, evalPrompts: 0 },
    },
    reward: {
      trainer: { steps: 30, batchSize: 16, learningRate: 1e-3, evalEvery: 15, evalPairs: 40 },
    },
    dpo: {
      // LoRA at 2e-4 (4x full DPO's 5e-5): KL ~1; at 5e-4 it over-optimised (KL 12), as full DPO did at 5e-4.
      model: { lora: LORA },
      // Prompts take ~9 GPT-2 tokens, a calm note ~11 and a shouted one ~16.
      rollout: { promptTokens: 16, completionTokens: 20 },
      trainer: { steps: 30, batchSize: 16, learningRate: 2e-4, evalEvery: 15, evalPairs: 40, evalPrompts: 32, evalSamplesPerPrompt: 1 },
    },
    ppo: {
      // LoRA at 2e-3 (10x full PPO's 2e-4, as LoRA usually wants): KL ~3.4 after 15 steps (full PPO on the same DPO models: 3.1 / 6.7).
      model: { lora: LORA },
      // Prompts of the held-out notes are never trained on.
      data: { train: '../examples/data/preferences/prompts.jsonl', eval: '../examples/data/preferences/prompts-eval.jsonl' },
      rollout: { batchSize: 16, promptTokens: 16, completionTokens: 20 },
      algo: { epochs: 2, minibatches: 2 },
      trainer: { steps: 15, learningRate: 2e-3, evalEvery: 0, evalPrompts: 32, evalSamplesPerPrompt: 1 },
    },
  },
});
