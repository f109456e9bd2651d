/**
 * Smoke run of recipes/sft-dpo-ppo-files.ts through the real `recipe` command on tiny budgets: SFT -> reward model
 * -> DPO -> PPO from the committed preference files, on a one-layer Llama with GPT-2's tokenizer. Asserts that
 * something was learned: the reward model and DPO (LoRA, as the recipe sets it) rank held-out pairs above chance
 * (both start at no preference), and that the two LoRA stages (DPO, PPO) wrote PEFT adapters equal to their merged
 * model minus the model they adapted.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initLlamaFolder, shapeForTokenizer, writeTokenizerFiles } from '../../models/hf/init-model.ts';
import { temporaryDirectory } from '../faults/helpers.ts';
import { checkStageAdapter } from '../models/lora/stage-adapter.ts';
import { SMALL_LLAMA } from './tiny-llama-suite.ts';

let root: string;
beforeAll(() => {
  root = temporaryDirectory('sft-dpo-ppo-recipe');
  initLlamaFolder(join(root, 'llama'), shapeForTokenizer(SMALL_LLAMA, 'gpt2'), { seed: 4 });
  writeTokenizerFiles(join(root, 'llama'), 'gpt2');
});

const TINY_BUDGETS = {
  'stages.sft.trainer': { steps: 2, batchSize: 8, learningRate: 3e-3, evalEvery: 0, evalExamples: 8, evalPrompts: 0 },
  'stages.reward.trainer': { steps: 4, batchSize: 8, learningRate: 3e-3, evalEvery: 0, evalPairs: 16 },
  'stages.dpo.trainer': { steps: 4, batchSize: 8, learningRate: 3e-3, evalEvery: 0, evalPairs: 16, evalPrompts: 2, evalSamplesPerPrompt: 1 },
  'stages.ppo.rollout': { batchSize: 2, promptTokens: 16, completionTokens: 20 },
  'stages.ppo.algo': { epochs: 1, minibatches: 1 },
  'stages.ppo.trainer': { steps: 1, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
};

describe('recipes/sft-dpo-ppo-files.ts', () => {
  it('runs SFT -> reward -> DPO -> PPO from files; the reward model and LoRA DPO rank held-out pairs above chance; each LoRA stage adapter == merged - base', async () => {
    const sets = [
      `model=${JSON.stringify({ from: join(root, 'llama') })}`,
      `logging=${JSON.stringify({ runsDirectory: join(root, 'runs'), level: 'error', progress: false })}`,
      'runtime={"backend":"wasm","threads":1}',
      ...Object.entries(TINY_BUDGETS).map(([path, value]) => `${path}=${JSON.stringify(value)}`),
    ];
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const command = [join(import.meta.dirname, '../../bin/recipe.js'), 'run', join(import.meta.dirname, '../../recipes/sft-dpo-ppo-files.ts'), '--force', ...sets.flatMap((set) => ['--set', set])];
      execFile(process.execPath, command, { timeout: 580_000 }, (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }));
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { stages } = JSON.parse(result.stdout);
    expect(Object.keys(stages)).toEqual(['sft', 'reward', 'dpo', 'ppo']);
    expect(stages.reward.heldOutAccuracy).toBeGreaterThan(0.5);
    expect(stages.dpo.baselineHeldOut).toEqual({ preferenceAccuracy: 0, rewardMargin: 0 });
    // LoRA DPO at this budget ranked all 16 held-out pairs right (reward margin 0.08-0.10) on seeds 0, 1, 2 and 3.
    expect(stages.dpo.finalHeldOut.preferenceAccuracy).toBeGreaterThan(0.5);
    expect(stages.dpo.finalHeldOut.rewardMargin).toBeGreaterThan(0);
    expect(Object.keys(stages.ppo.finalRewards)).toEqual(['examples/rewards/style.ts#calmMessage']);

    // DPO adapts SFT's model and PPO DPO's merged model: model/ - base == (alpha / r) B A on all 7 targets of the
    // one layer, nothing else changed, and the adapters moved away from B = 0. PPO's one tiny step moves them
    // little (largest |(alpha / r) B A| ~2e-5 here, DPO's ~2e-2; the error ~4e-9), so it is also bounded by 1% of the update.
    const runDirectory = join(root, 'runs', 'sft-dpo-ppo-files');
    for (const [stage, base] of [['dpo', 'sft'], ['ppo', 'dpo']] as const) {
      const { config, targets, changedOthers } = checkStageAdapter(join(runDirectory, stage));
      expect(config, stage).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, base_model_name_or_path: join(runDirectory, base, 'model') });
      expect(targets.length, stage).toBe(7);
      const largest = Math.max(...targets.map((target) => target.largest));
      expect(largest, stage).toBeGreaterThan(0);
      for (const { weight, worst } of targets) expect(worst, `${stage} ${weight}`).toBeLessThan(Math.min(1e-6, largest / 100));
      expect(changedOthers, stage).toEqual([]);
    }
  }, 600_000);
});
