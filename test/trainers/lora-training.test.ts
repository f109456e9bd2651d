/**
 * LoRA through the trainers on a freshly initialised tiny Llama: an SFT run learns (held-out loss falls) while
 * only its adapters train and are checkpointed; its stage writes the merged model and a PEFT adapter folder whose
 * adapter equals merged - base; and SFT -> reward -> PPO and GRPO run with adapters on the policy, the reward model
 * and the value model (their heads trained in full, as PEFT's modules_to_save), the reference being the base.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPretrained } from '../../models/hf/pretrained.ts';
import { readSafetensorsFile, readSafetensorsFolder } from '../../models/hf/safetensors.ts';
import type { LoraTargetModule } from '../../models/lora/lora-config.ts';
import { applyPeftAdapter } from '../../models/lora/peft-folder.ts';
import { acquireBase, releaseBase } from '../../models/lora/shared-base.ts';
import type { RunSummary } from '../../observe/index.ts';
import { GRPOTrainer, SFTTrainer } from '../../trainers/index.ts';
import { planRecipe, runRecipe } from '../../trainers/recipe.ts';
import { readMetrics } from '../faults/helpers.ts';
import { prepareLlamaRoot, runOnLlama, sharedRuntime } from './tiny-llama-suite.ts';
import { checkStageAdapter } from '../models/lora/stage-adapter.ts';

const LORA = { rank: 4, alpha: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as LoraTargetModule[] };

const root = prepareLlamaRoot('lora-training');
const base = join(root, 'llama');
const shared = sharedRuntime('lora-training');

/** Every file under `directory`, recursively. */
function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' }).map((name) => join(directory, name)).filter((path) => statSync(path).isFile());
}

describe('LoRA SFT on a tiny Llama', () => {
  it('learns, checkpoints only the adapters, and writes the merged model with a PEFT adapter equal to merged - base', async () => {
    const summary = await new SFTTrainer(
      {
        ...runOnLlama(root, 'sft-lora', 1),
        task: { name: 'sentiment' },
        model: { from: base, lora: LORA },
        trainer: { steps: 30, batchSize: 8, learningRate: 1e-2, evalEvery: 10, evalExamples: 16, evalPrompts: 0 },
        checkpoint: { everySteps: 15 },
      },
      shared,
    ).train();
    expect(summary.steps).toBe(30);
    const runDirectory = join(root, 'runs', 'sft-lora');
    // Loss falls: the train loss of the last 5 steps is well below the first 3's, and held-out loss falls at each evaluation.
    const records = readMetrics(runDirectory);
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const losses = records.map((record) => record.loss as number);
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 3)) - 0.1);
    const heldOut = records.filter((record) => typeof record.heldOutLoss === 'number').map((record) => record.heldOutLoss as number);
    expect(heldOut.length).toBe(3);
    for (let i = 1; i < heldOut.length; i++) expect(heldOut[i]!).toBeLessThan(heldOut[i - 1]!);

    // The adapter: per layer r * (in + out) for the 7 targets (D 32, q/o 32, k/v 16, MLP 64).
    const adapterFloats = 4 * ((32 + 32) + (32 + 16) + (32 + 16) + (32 + 32) + (32 + 64) + (32 + 64) + (64 + 32));
    const baseFloats = [...readSafetensorsFolder(base).values()].reduce((sum, tensor) => sum + tensor.data.length, 0);
    expect(adapterFloats * 4).toBeLessThan(baseFloats);
    const weightShards = filesUnder(join(runDirectory, 'checkpoints')).filter((path) => path.endsWith('weights.bin'));
    expect(weightShards.length).toBeGreaterThan(0);
    for (const shard of weightShards) expect(statSync(shard).size, shard).toBe(4 * adapterFloats);
    for (const shard of filesUnder(join(runDirectory, 'checkpoints')).filter((path) => path.endsWith('optimizer.bin'))) expect(statSync(shard).size).toBe(2 * 4 * adapterFloats);

    // model/ is the merged model; adapter/ is PEFT's folder; merged - base == (alpha / r) B A per target.
    const { config, targets, changedOthers } = checkStageAdapter(runDirectory);
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, lora_dropout: 0, bias: 'none', fan_in_fan_out: false, base_model_name_or_path: base });
    expect(config.target_modules).toEqual([...LORA.targetModules].sort());
    expect(targets.length).toBe(7);
    for (const { weight, worst, largest } of targets) {
      expect(worst, weight).toBeLessThan(1e-6);
      expect(largest, weight).toBeGreaterThan(1e-4);
    }
    expect(changedOthers).toEqual([]);

    // The PEFT folder applied to the base computes what the merged folder computes.
    const inputs = { inputIds: [[1, 10, 11, 12, 13]] };
    const mergedModel = await loadPretrained(join(runDirectory, 'model'));
    const { logits } = await mergedModel.forward(inputs);
    const expected = Array.from(await logits.data());
    logits.dispose();
    mergedModel.dispose();
    const frozen = acquireBase(base, 'language', 0);
    const tuned = applyPeftAdapter(frozen, join(runDirectory, 'adapter'));
    const fromAdapter = tuned.logits({ tokens: Int32Array.from(inputs.inputIds[0]!), batchSize: 1, length: 5 });
    const actual = Array.from(await fromAdapter.data());
    fromAdapter.dispose();
    tuned.dispose();
    releaseBase(frozen);
    actual.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThan(1e-4));
  });
});

describe('LoRA in every stage', () => {
  it('runs SFT -> reward -> PPO with adapters on the policy, the reward model and the value model', async () => {
    const plan = planRecipe({
      ...runOnLlama(root, 'ppo-lora', 1),
      task: { name: 'sentiment' },
      model: { from: base, lora: { rank: 2, alpha: 4 } },
      stages: {
        sft: { trainer: { steps: 3, batchSize: 4, evalExamples: 8, evalPrompts: 0 } },
        reward: { trainer: { steps: 2, batchSize: 4, evalPairs: 8 } },
        ppo: { rollout: { batchSize: 4 }, algo: { epochs: 1, minibatches: 1 }, trainer: { steps: 2, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 } },
      },
    });
    const result = await runRecipe(plan, shared);
    expect((result.stages as Record<string, RunSummary>).ppo).toMatchObject({ steps: 2 });
    const stage = (name: string) => join(root, 'runs', 'ppo-lora', name);
    const adapterConfig = (name: string) => JSON.parse(readFileSync(join(stage(name), 'adapter', 'adapter_config.json'), 'utf8'));
    expect(adapterConfig('sft')).toMatchObject({ task_type: 'CAUSAL_LM', modules_to_save: null, base_model_name_or_path: base });
    // The reward model adapts the SFT model (its base) and trains its score head in full.
    expect(adapterConfig('reward')).toMatchObject({ task_type: 'SEQ_CLS', modules_to_save: ['score'], base_model_name_or_path: join(stage('sft'), 'model') });
    expect(readSafetensorsFile(join(stage('reward'), 'adapter', 'adapter_model.safetensors')).has('base_model.model.score.weight')).toBe(true);
    expect(adapterConfig('ppo')).toMatchObject({ task_type: 'CAUSAL_LM', base_model_name_or_path: join(stage('sft'), 'model') });
    expect(JSON.parse(readFileSync(join(stage('reward'), 'model', 'config.json'), 'utf8')).architectures[0]).toBe('LlamaForSequenceClassification');
  });

  it('runs GRPO with adapters on the policy; the policy checkpoint holds the adapters and the reference none', async () => {
    const summary = await new GRPOTrainer(
      {
        ...runOnLlama(root, 'grpo-lora', 2),
        model: { from: base, lora: { rank: 2, alpha: 4, dropout: 0.1 } },
        rollout: { promptsPerStep: 2, samplesPerPrompt: 2 },
        trainer: { steps: 2, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
        checkpoint: { everySteps: 2 },
      },
      shared,
    ).train();
    expect(summary.steps).toBe(2);
    const runDirectory = join(root, 'runs', 'grpo-lora');
    const shards = filesUnder(join(runDirectory, 'checkpoints')).filter((path) => path.endsWith('.bin'));
    expect(shards.some((path) => path.includes('/policy/'))).toBe(true);
    expect(shards.some((path) => path.includes('/reference/'))).toBe(false);
    // Default targets q_proj (32 -> 32) and v_proj (32 -> 16) at rank 2.
    for (const shard of shards.filter((path) => path.endsWith('policy/rank-0/weights.bin'))) expect(statSync(shard).size).toBe(4 * 2 * (32 + 32 + 32 + 16));
    expect(existsSync(join(runDirectory, 'adapter', 'adapter_config.json'))).toBe(true);
  });
});
