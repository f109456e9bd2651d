/**
 * Sweeps can search LoRA's rank and alpha: `stages.<stage>.model.lora.rank` / `.alpha` are valid search-space
 * paths (a stage may set its own `model.lora`; the rest of the model is shared) whose every candidate gives a
 * valid config, each trial's input carries its values, and a search over LoRA settings of a recipe without
 * `model.from` is refused naming model.lora.
 */
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { characterTokenizerFiles, initLlamaFolder, TINY_LLAMA } from '../../models/hf/init-model.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { parseSweepConfig } from '../../tune/index.ts';
import { planSweep } from '../../tune/sweep-plan.ts';
import { temporaryDirectory } from '../faults/helpers.ts';

let base: string;
beforeAll(() => {
  base = join(temporaryDirectory('lora-sweep'), 'tiny-llama');
  initLlamaFolder(base, { ...TINY_LLAMA, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1 }, { seed: 3, extraFiles: characterTokenizerFiles() });
});

const recipe = (model: Record<string, unknown>) => ({ name: 'grpo-lora', task: { name: 'arithmetic' }, model, stages: { grpo: { trainer: { steps: 2 } } } });
const sweep = {
  name: 'lora-sweep',
  baseRecipe: 'recipe.ts',
  space: {
    'stages.grpo.model.lora.rank': { type: 'categorical', choices: [2, 4, 8] },
    'stages.grpo.model.lora.alpha': { type: 'float', low: 1, high: 32, log: true },
  },
  metric: 'goldReward',
  direction: 'maximize',
  nTrials: 4,
  concurrency: 1,
};

it('searches model.lora.rank and model.lora.alpha; each trial gets its own values', () => {
  const plan = planSweep(parseSweepConfig(sweep), recipe({ from: base, lora: { rank: 8 } }), { runsDirectory: '/tmp/lora-sweep-runs' });
  const input = plan.trialInput({ 'stages.grpo.model.lora.rank': 4, 'stages.grpo.model.lora.alpha': 16 }, 1) as { model: { lora: Record<string, unknown> } };
  expect(input.model.lora).toMatchObject({ rank: 4, alpha: 16 });
});

it('refuses a LoRA search on a recipe without model.from, naming model.lora', () => {
  let issues: string[] = [];
  try {
    const space = { 'stages.sft.model.lora.rank': sweep.space['stages.grpo.model.lora.rank'] };
    planSweep(parseSweepConfig({ ...sweep, space, metric: 'loss', direction: 'minimize' }), { name: 'sft-lora', task: { name: 'sentiment' }, model: {}, stages: { sft: { trainer: { steps: 2 } } } });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues = error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  expect(issues.length).toBeGreaterThan(0);
  expect(issues.join('\n')).toMatch(/space\.stages\.sft\.model\.lora\.rank: .*model\.lora: LoRA adapts a Hugging Face model: set model\.from/);
});
