/**
 * DPO on the user's preference files: pairs from a JSONL dataset in seeded order (the cursor in the checkpoint),
 * held-out pairs measured at each evaluation (preference accuracy and reward margin of DPO's implicit reward),
 * and evaluation samples scored by a reward module. Smoke runs on a tiny character-tokenizer Llama.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DPOTrainer, type DPOConfigInput } from '../../trainers/index.ts';
import { readMetrics, resumeStoppedCopy, withoutWallClock } from '../faults/helpers.ts';
import { preparePreferenceRoot } from './preference-files.ts';
import { runOnLlama, sharedRuntime } from './tiny-llama-suite.ts';

const { root, files } = preparePreferenceRoot('dpo-from-files');
const shared = sharedRuntime('dpo-from-files');

const config = (name: string, extra: Partial<DPOConfigInput> = {}): DPOConfigInput => ({
  ...runOnLlama(root, name, 2),
  data: { train: files.pairs, evalFraction: 0.25 },
  algo: { beta: 0.5 },
  trainer: { steps: 6, batchSize: 8, learningRate: 3e-3, evalEvery: 0, evalPairs: 10 },
  ...extra,
});

describe('DPO from a JSONL of preference pairs', () => {
  it('learns the held-out pairs (preference accuracy up from the start, reward margin positive) and scores samples with the reward module', async () => {
    const summary = await new DPOTrainer(
      config('dpo-byo', { rewards: [{ module: files.style, export: 'calm' }], rollout: { promptTokens: 24, completionTokens: 8 }, trainer: { steps: 6, batchSize: 8, learningRate: 3e-3, evalEvery: 3, evalPairs: 10, evalPrompts: 3, evalSamplesPerPrompt: 1 } }),
      shared,
    ).train();
    const baseline = summary.baselineHeldOut as { preferenceAccuracy: number; rewardMargin: number };
    const final = summary.finalHeldOut as { preferenceAccuracy: number; rewardMargin: number };
    // Before any step the policy is the reference: every implicit reward is 0.
    expect(baseline).toEqual({ preferenceAccuracy: 0, rewardMargin: 0 });
    expect(final.preferenceAccuracy).toBeGreaterThan(0.5);
    expect(final.rewardMargin).toBeGreaterThan(0);
    // The held-out gold metric: the reward module's mean over samples of the eval pairs' prompts.
    expect(Object.keys(summary.finalRewards as object)).toEqual([`${files.style}#calm`]);
    expect((summary.finalEvalSamples as { prompt: string }[])[0]!.prompt).toMatch(/^what is \d plus \d\?$/);
    const evaluated = readMetrics(join(root, 'runs', 'dpo-byo')).filter((record) => record.step === 3)[0]!;
    expect(evaluated).toMatchObject({ 'heldOut/preferenceAccuracy': expect.any(Number), [`evalRewards/${files.style}#calm`]: expect.any(Number) });
  });

  it('reads the implicit-prompt variant: the shared start is the prompt, so the margin is the explicit one up to rounding', async () => {
    const [explicit, implicit] = await Promise.all([
      new DPOTrainer(config('dpo-explicit', { trainer: { steps: 1, batchSize: 4, learningRate: 3e-3, evalEvery: 0, evalPairs: 4 } }), shared).train(),
      new DPOTrainer(config('dpo-implicit', { data: { train: files.implicit, evalFraction: 0.25 }, trainer: { steps: 1, batchSize: 4, learningRate: 3e-3, evalEvery: 0, evalPairs: 4 } }), shared).train(),
    ]);
    // The implicit prompt also holds " it is 7" (shared by both sides); those tokens' log-ratios cancel in the margin.
    const [a, b] = [explicit.finalHeldOut as Record<string, number>, implicit.finalHeldOut as Record<string, number>];
    expect(b.preferenceAccuracy).toBe(a.preferenceAccuracy);
    expect(b.rewardMargin).toBeCloseTo(a.rewardMargin, 4);
  });

  it('resumed from its step-2 checkpoint, a run reads the same pairs and computes steps 3-4 exactly as before', async () => {
    const run = config('dpo-resume', { checkpoint: { everySteps: 2 }, trainer: { steps: 4, batchSize: 8, learningRate: 3e-3, evalEvery: 2, evalPairs: 6 } });
    const original = join(root, 'runs', 'dpo-resume');
    await new DPOTrainer(run, shared).train();
    const { copy, summary } = await resumeStoppedCopy(original, 2, shared);
    expect(summary.resumedFrom).toMatchObject({ step: 2 });
    const expected = withoutWallClock(readMetrics(original));
    expect(expected.map((record) => record.step)).toEqual([1, 2, 3, 4]);
    expect(withoutWallClock(readMetrics(copy))).toEqual(expected);
    const state = JSON.parse(readFileSync(join(original, 'checkpoints', 'dpo-resume', 'step-000004', 'state.json'), 'utf8'));
    // 4 steps of 8 from a 30-row train split: epoch 1, 2 pairs in.
    expect(state.driver.dataCursor).toEqual({ epoch: 1, position: 2 });
  });
});
