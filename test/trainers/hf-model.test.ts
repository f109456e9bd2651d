/**
 * A Hugging Face model through the whole pipeline: SFT -> reward model -> PPO, and GRPO, start from a freshly
 * initialised Llama folder (`model.from`), every role runs the HF decoder on the runtime exactly as bench-S's
 * GPT does, and every stage writes a Hugging Face folder that loads again with the same logits.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initLlamaFolder, shapeForTokenizer, writeTokenizerFiles } from '../../models/hf/init-model.ts';
import { loadPretrained } from '../../models/hf/pretrained.ts';
import { GRPOTrainer, parseGrpoConfig } from '../../trainers/index.ts';
import type { RunSummary } from '../../observe/index.ts';
import { planRecipe, runRecipe } from '../../trainers/recipe.ts';
import { readMetrics } from '../faults/helpers.ts';
import { prepareLlamaRoot, runOnLlama, sharedRuntime, SMALL_LLAMA } from './tiny-llama-suite.ts';

const root = prepareLlamaRoot('hf-model');
const base = join(root, 'llama');
const shared = sharedRuntime('hf-model');

describe('a Hugging Face model in the trainers', () => {
  it('runs SFT -> reward -> PPO from model.from and writes Hugging Face folders', async () => {
    const plan = planRecipe({
      ...runOnLlama(root, 'ppo-hf', 1),
      task: { name: 'sentiment' },
      stages: {
        sft: { trainer: { steps: 4, batchSize: 4, evalExamples: 8, evalPrompts: 0 } },
        reward: { trainer: { steps: 3, batchSize: 4, evalPairs: 8 } },
        ppo: { rollout: { batchSize: 4 }, algo: { epochs: 1, minibatches: 1 }, trainer: { steps: 2, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 } },
      },
    });
    const result = await runRecipe(plan, shared);
    const stages = result.stages as Record<string, RunSummary>;
    expect(stages.ppo).toMatchObject({ steps: 2 });

    const directory = (stage: string) => join(root, 'runs', 'ppo-hf', stage, 'model');
    const architecture = (stage: string) => JSON.parse(readFileSync(join(directory(stage), 'config.json'), 'utf8')).architectures[0];
    expect(architecture('sft')).toBe('LlamaForCausalLM');
    expect(architecture('reward')).toBe('LlamaForSequenceClassification');
    expect(architecture('ppo')).toBe('LlamaForCausalLM');
    for (const stage of ['sft', 'reward', 'ppo']) {
      expect(existsSync(join(directory(stage), 'model.safetensors'))).toBe(true);
      expect(existsSync(join(directory(stage), 'tokenizer.json'))).toBe(true);
    }
    // Training moved the weights away from the base, and the PPO policy's metrics carry its weight versions.
    const inputs = { inputIds: [[1, 10, 11, 12, 13]] };
    const logitsOf = async (folder: string) => {
      const model = await loadPretrained(folder);
      const { logits } = await model.forward(inputs);
      const values = Array.from(await logits.data());
      logits.dispose();
      model.dispose();
      return values;
    };
    const [baseLogits, sftLogits, ppoLogits] = [await logitsOf(base), await logitsOf(directory('sft')), await logitsOf(directory('ppo'))];
    expect(sftLogits).not.toEqual(baseLogits);
    expect(ppoLogits).not.toEqual(sftLogits);
    expect(readMetrics(join(root, 'runs', 'ppo-hf', 'ppo')).filter((record) => record.step !== undefined).length).toBeGreaterThan(0);
  });

  it('runs GRPO on the arithmetic task from a Hugging Face folder', async () => {
    const trainer = new GRPOTrainer(
      {
        ...runOnLlama(root, 'grpo-hf', 2),
        rollout: { promptsPerStep: 2, samplesPerPrompt: 2 },
        trainer: { steps: 2, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
      },
      shared,
    );
    const summary = await trainer.train();
    expect(summary.steps).toBe(2);
    const saved = join(root, 'runs', 'grpo-hf', 'model');
    const model = await loadPretrained(saved);
    expect(model.spec.architecture).toBe('LlamaForCausalLM');
    model.dispose();
  });
});

describe('a Hugging Face model with a real tokenizer', () => {
  it('runs GRPO on the arithmetic task with GPT-2’s tokenizer (the task counts its limits in GPT-2 tokens)', async () => {
    const folder = join(root, 'llama-gpt2');
    initLlamaFolder(folder, shapeForTokenizer(SMALL_LLAMA, 'gpt2'), { seed: 4 });
    writeTokenizerFiles(folder, 'gpt2');
    const config = {
      ...runOnLlama(root, 'grpo-gpt2', 2),
      model: { from: folder },
      rollout: { promptsPerStep: 2, samplesPerPrompt: 2 },
      trainer: { steps: 1, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
    };
    const parsed = parseGrpoConfig(config);
    // GPT-2 writes "12+7=" in fewer tokens than characters, and the completion budget follows.
    expect(parsed.derived.promptTokens).toBeLessThan(parseGrpoConfig({ ...config, model: {}, init: { policy: 'unused' } }).derived.promptTokens);
    const summary = await new GRPOTrainer(config, shared).train();
    expect(summary.steps).toBe(1);
  });

  it('rejects model.from that is not a causal LM or not a folder, naming the field', () => {
    expect(() => parseGrpoConfig({ task: { name: 'arithmetic' }, model: { from: join(root, 'nowhere') } })).toThrow(/model\.from: .*not a Hugging Face model folder/);
    expect(() => parseGrpoConfig({ task: { name: 'arithmetic' }, model: { from: join(import.meta.dirname, '../../../shared/fixtures/hf/llama-reward') } })).toThrow(
      /LlamaForSequenceClassification; the policy needs a \*ForCausalLM/,
    );
  });
});
