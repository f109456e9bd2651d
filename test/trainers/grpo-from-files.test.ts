/**
 * GRPO on the user's files: prompts from a JSONL dataset, the training signal from a reward module. Smoke runs on
 * a tiny character-tokenizer Llama (the data is written in its alphabet), the per-function reward means in
 * metrics.jsonl and summary.json, and exact resume (the dataset cursor is in the checkpoint).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRPOTrainer, SFTTrainer, type GRPOConfigInput } from '../../trainers/index.ts';
import { readMetrics, resumeStoppedCopy, withoutWallClock } from '../faults/helpers.ts';
import { writeByoFiles } from './byo-files.ts';
import { prepareLlamaRoot, runOnLlama, sharedRuntime } from './tiny-llama-suite.ts';

const root = prepareLlamaRoot('grpo-from-files');
const files = writeByoFiles(root);
const shared = sharedRuntime('grpo-from-files');

const config = (name: string, extra: Partial<GRPOConfigInput> = {}): GRPOConfigInput => ({
  ...runOnLlama(root, name, 4),
  data: { train: files.prompts, evalFraction: 0.2 },
  rewards: [
    { module: files.rewards, export: 'containsAnswer', weight: 1 },
    { module: files.rewards, export: 'short', weight: 0.5 },
  ],
  rollout: { promptsPerStep: 2, samplesPerPrompt: 2, promptTokens: 24, completionTokens: 6 },
  trainer: { steps: 2, evalEvery: 0, evalPrompts: 3, learningRate: 1e-3 },
  ...extra,
});

describe('GRPO from a JSONL of prompts with a reward module', () => {
  it('trains on the weighted sum of the reward functions and logs each function per step and in the summary', async () => {
    const summary = await new GRPOTrainer(config('byo'), shared).train();
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
    await new GRPOTrainer(run, shared).train();
    const { copy, summary } = await resumeStoppedCopy(original, 2, shared);
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
          ...runOnLlama(root, name, 1),
          data: { train: files.sft, evalFraction: 0.2 },
          checkpoint: { everySteps: 2 },
          trainer: { steps, batchSize: 8, evalEvery: 0, evalExamples: 4, learningRate: 1e-2 },
        },
        shared,
      ).train();
    const before = await run('sft-0', 1);
    const after = await run('sft-8', 8);
    expect(after.finalHeldOutLoss as number).toBeLessThan(before.finalHeldOutLoss as number);
    const state = JSON.parse(readFileSync(join(root, 'runs', 'sft-8', 'checkpoints', 'sft-8', 'step-000008', 'state.json'), 'utf8'));
    // 8 steps of 8 from a 16-row train split: the 4th epoch read to its end (the next draw starts epoch 4).
    expect(state.driver.dataCursor).toEqual({ epoch: 3, position: 16 });
  });
});
