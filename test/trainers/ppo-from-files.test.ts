/**
 * PPO on the user's files: prompts from a JSONL dataset (seeded order, cursor in the checkpoint), the reward from
 * a reward model (here a transformers *ForSequenceClassification folder given as init.reward) and/or reward
 * functions (weighted sum, each logged per step as `rewards/<module#export>`), eval prompts from the eval split
 * scored by the functions. Smoke runs on a tiny character-tokenizer Llama.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PPOTrainer, type PPOConfigInput } from '../../trainers/index.ts';
import { readMetrics, resumeStoppedCopy, withoutWallClock } from '../faults/helpers.ts';
import { preparePreferenceRoot } from './preference-files.ts';
import { runOnLlama, sharedRuntime } from './tiny-llama-suite.ts';

const { root, files } = preparePreferenceRoot('ppo-from-files');
const shared = sharedRuntime('ppo-from-files');

const config = (name: string, extra: Partial<PPOConfigInput> = {}): PPOConfigInput => ({
  ...runOnLlama(root, name, 5),
  data: { train: files.prompts, evalFraction: 0.2 },
  rewards: [
    { module: files.style, export: 'calm', weight: 1 },
    { module: files.style, export: 'short', weight: 0.5 },
  ],
  rollout: { batchSize: 4, promptTokens: 24, completionTokens: 6 },
  algo: { epochs: 1, minibatches: 1 },
  trainer: { steps: 2, evalEvery: 0, evalPrompts: 3, evalSamplesPerPrompt: 1, learningRate: 1e-3 },
  ...extra,
});

describe('PPO from a JSONL of prompts', () => {
  it('trains on the reward functions alone: each logged per step, their weighted sum the reward, eval prompts from the eval split', async () => {
    const summary = await new PPOTrainer(config('ppo-functions'), shared).train();
    expect(summary.steps).toBe(2);
    const names = [`${files.style}#calm`, `${files.style}#short`];
    for (const record of readMetrics(join(root, 'runs', 'ppo-functions')).filter((line) => typeof line.step === 'number' && line.modelReward !== undefined)) {
      const perFunction = names.map((name) => record[`rewards/${name}`] as number);
      expect(record.goldReward as number).toBeCloseTo(perFunction[0]! + 0.5 * perFunction[1]!, 5);
      // Without a reward model the training reward is the functions' sum.
      expect(record.modelReward as number).toBeCloseTo(record.goldReward as number, 5);
    }
    expect(Object.keys(summary.finalRewards as object).sort()).toEqual(names.sort());
    expect(Object.keys(summary.baselineRewards as object).sort()).toEqual(names.sort());
    expect((summary.finalEvalSamples as { prompt: string }[])[0]!.prompt).toMatch(/^what is \d plus \d\?$/);
  });

  it('adds a *ForSequenceClassification reward model’s score (init.reward) to the functions, and resumes exactly with the dataset cursor', async () => {
    const run = config('ppo-rm', { init: { reward: join(root, 'llama-reward') }, checkpoint: { everySteps: 2 }, trainer: { steps: 4, evalEvery: 2, evalPrompts: 3, evalSamplesPerPrompt: 1, learningRate: 1e-3 } });
    const original = join(root, 'runs', 'ppo-rm');
    await new PPOTrainer(run, shared).train();
    const records = readMetrics(original).filter((line) => typeof line.step === 'number' && line.modelReward !== undefined);
    // The reward model's score moves the training reward away from the functions' sum.
    expect(records.some((record) => Math.abs((record.modelReward as number) - (record.goldReward as number)) > 1e-4)).toBe(true);
    const { copy, summary } = await resumeStoppedCopy(original, 2, shared);
    expect(summary.resumedFrom).toMatchObject({ step: 2 });
    const expected = withoutWallClock(readMetrics(original));
    expect(expected.map((record) => record.step)).toEqual([1, 2, 3, 4]);
    expect(withoutWallClock(readMetrics(copy))).toEqual(expected);
  });
});
