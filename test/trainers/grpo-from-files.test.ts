/**
 * GRPO on the user's files: prompts from a JSONL dataset, the training signal from a reward module. Smoke runs on
 * a tiny character-tokenizer Llama (the data is written in its alphabet), the per-function reward means in
 * metrics.jsonl and summary.json, and exact resume (the dataset cursor is in the checkpoint).
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../models/engine.ts';
import { characterTokenizerFiles, initLlamaFolder, TINY_LLAMA } from '../../models/hf/init-model.ts';
import { Runtime } from '../../runtime/index.ts';
import { GRPOTrainer, SFTTrainer, type GRPOConfigInput } from '../../trainers/index.ts';
import { resumeRun } from '../../trainers/resume-run.ts';
import { DETERMINISTIC_RUNTIME, readMetrics, temporaryDirectory, withoutWallClock } from '../faults/helpers.ts';
import { writeByoFiles } from './byo-files.ts';

const SMALL_LLAMA = { ...TINY_LLAMA, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1 };

let root: string;
let files: ReturnType<typeof writeByoFiles>;
let runtime: Runtime;
beforeAll(async () => {
  root = temporaryDirectory('grpo-from-files');
  initLlamaFolder(join(root, 'llama'), SMALL_LLAMA, { seed: 3, extraFiles: characterTokenizerFiles() });
  files = writeByoFiles(root);
  runtime = await Runtime.start({ namespace: 'grpo-from-files' });
  await initEngine({ backend: 'wasm', threads: 1 });
});
afterAll(async () => {
  await runtime?.shutdown();
});

const config = (name: string, extra: Partial<GRPOConfigInput> = {}): GRPOConfigInput => ({
  name,
  seed: 4,
  task: { name: 'arithmetic' },
  model: { from: join(root, 'llama') },
  data: { train: files.prompts, evalFraction: 0.2 },
  rewards: [
    { module: files.rewards, export: 'containsAnswer', weight: 1 },
    { module: files.rewards, export: 'short', weight: 0.5 },
  ],
  runtime: DETERMINISTIC_RUNTIME,
  logging: { runsDirectory: join(root, 'runs'), level: 'error', progress: false },
  rollout: { promptsPerStep: 2, samplesPerPrompt: 2, promptTokens: 24, completionTokens: 6 },
  trainer: { steps: 2, evalEvery: 0, evalPrompts: 3, learningRate: 1e-3 },
  ...extra,
});

describe('GRPO from a JSONL of prompts with a reward module', () => {
  it('trains on the weighted sum of the reward functions and logs each function per step and in the summary', async () => {
    const summary = await new GRPOTrainer(config('byo'), { runtime }).train();
    expect(summary.steps).toBe(2);
    const names = [`${files.rewards}#containsAnswer`, `${files.rewards}#short`];
    const records = readMetrics(join(root, 'runs', 'byo'));
    for (const record of records.filter((line) => typeof line.step === 'number' && line.goldReward !== undefined)) {
      const perFunction = names.map((name) => record[`rewards/${name}`] as number);
      for (const value of perFunction) expect(value).toBeGreaterThanOrEqual(0);
      // goldReward (the training signal) is the weighted sum of the functions' means.
      expect(record.goldReward as number).toBeCloseTo(perFunction[0]! + 0.5 * perFunction[1]!, 5);
    }
    const written = JSON.parse(readFileSync(join(root, 'runs', 'byo', 'summary.json'), 'utf8'));
    expect(Object.keys(written.finalRewards).sort()).toEqual(names.sort());
    expect(Object.keys(written.baselineRewards).sort()).toEqual(names.sort());
    // The eval prompts are the dataset's held-out rows, shown as text.
    expect(written.finalEvalSamples[0].prompt).toMatch(/^what is \d+ plus \d+\?/);
  });

  it('resumed from its step-2 checkpoint, a run draws the same prompts and computes steps 3-4 exactly as before', async () => {
    const run = config('byo-resume', { checkpoint: { everySteps: 2 }, trainer: { steps: 4, evalEvery: 2, evalPrompts: 3, learningRate: 1e-3 } });
    const original = join(root, 'runs', 'byo-resume');
    await new GRPOTrainer(run, { runtime }).train();
    const copy = join(root, 'runs', 'byo-resume-copy');
    cpSync(original, copy, { recursive: true });
    rmSync(join(copy, 'checkpoints', 'byo-resume', 'step-000004'), { recursive: true });
    writeFileSync(join(copy, 'checkpoints', 'byo-resume', 'latest'), 'step-000002\n');
    const summary = await resumeRun(copy, { runtime });
    expect(summary.resumedFrom).toMatchObject({ step: 2 });
    const expected = withoutWallClock(readMetrics(original));
    expect(expected.map((record) => record.step)).toEqual([1, 2, 3, 4]);
    expect(withoutWallClock(readMetrics(copy))).toEqual(expected);
  });
});

describe('SFT from a prompt-completion JSONL', () => {
  it('learns the demonstrations: the held-out loss falls, and the dataset cursor is in the checkpoint', async () => {
    const run = (name: string, steps: number) =>
      new SFTTrainer(
        {
          name,
          seed: 1,
          task: { name: 'arithmetic' },
          model: { from: join(root, 'llama') },
          data: { train: files.sft, evalFraction: 0.2 },
          runtime: DETERMINISTIC_RUNTIME,
          checkpoint: { everySteps: 2 },
          logging: { runsDirectory: join(root, 'runs'), level: 'error', progress: false },
          trainer: { steps, batchSize: 8, evalEvery: 0, evalExamples: 4, learningRate: 1e-2 },
        },
        { runtime },
      ).train();
    const before = await run('sft-0', 1);
    const after = await run('sft-8', 8);
    expect(after.finalHeldOutLoss as number).toBeLessThan(before.finalHeldOutLoss as number);
    const state = JSON.parse(readFileSync(join(root, 'runs', 'sft-8', 'checkpoints', 'sft-8', 'step-000008', 'state.json'), 'utf8'));
    // 8 steps of 8 from a 16-row train split: the 4th epoch read to its end (the next draw starts epoch 4).
    expect(state.driver.dataCursor).toEqual({ epoch: 3, position: 16 });
  });
});
