/**
 * Every trainer learns on a tiny budget (a 1-layer, 64-wide model on the sentiment task): SFT lowers held-out
 * loss, the reward model orders held-out pairs as the gold reward does, and PPO, DPO and GRPO (here with the
 * learned reward model) raise the gold reward that no model ever sees. The stages feed each other like a recipe.
 *
 * Each test asks for the stages it starts from (`sftStage()`, `rewardStage()`); the first ask trains the stage and
 * later ones wait for the same run, so any one test (`-t 'DPO'`), in any order, trains what it needs.
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricsRecord, RunSummary } from '../../observe/index.ts';
import { DPOTrainer, GRPOTrainer, PPOTrainer, RewardTrainer, SFTTrainer } from '../../trainers/index.ts';
import { scratchDirectory, testLogging } from './helpers.ts';

const scratch = scratchDirectory('learning');
afterAll(() => scratch.remove());
const task = { name: 'sentiment' as const };
const model = { dModel: 64, nHeads: 2, nLayers: 1 };
const logging = testLogging(scratch.path);
/** Held-out prompts x samples for the gold-reward evaluations (fixed seed: the same samples every time). */
const evaluation = { evalEvery: 0, evalPrompts: 26, evalSamplesPerPrompt: 2 };

/** Runs `train` once, on first use; every caller gets the same result. */
function once<T>(train: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= train());
}

/** The SFT stage every other stage starts from: its summary, its step records and its model file. */
const sftStage = once(async () => {
  const records: MetricsRecord[] = [];
  const trainer = new SFTTrainer({ name: 'sft', task, model, trainer: { steps: 150, batchSize: 32, learningRate: 3e-3, evalEvery: 50, evalExamples: 64, evalPrompts: 26, evalSamplesPerPrompt: 2 }, logging });
  trainer.on('step', (record) => records.push(record));
  const summary = await trainer.train();
  return { summary, records, model: summary.model as string };
});

/** The reward model PPO and GRPO score with, trained from the SFT model. */
const rewardStage = once(async () => {
  const { model: sftModel } = await sftStage();
  const summary = await new RewardTrainer({ name: 'reward', task, model, init: { from: sftModel }, trainer: { steps: 40, batchSize: 32, learningRate: 2e-3, evalPairs: 128 }, logging }).train();
  return { summary, model: summary.model as string };
});

// A test run on its own also trains the stages it starts from, hence more than the default 2 minutes.
describe('each trainer learns on a tiny budget', { timeout: 600_000 }, () => {
  it('SFT lowers held-out loss', async () => {
    const { summary, records } = await sftStage();
    const heldOut = records.filter((record) => record.heldOutLoss !== undefined).map((record) => record.heldOutLoss as number);
    expect(heldOut).toHaveLength(3);
    expect(heldOut[2]!).toBeLessThan(heldOut[0]!);
    expect(summary.finalHeldOutLoss as number).toBeLessThan(1); // from ~4 nats per token (55-way uniform)
  });

  it('the reward model orders held-out pairs like the gold reward', async () => {
    const { summary } = await rewardStage();
    expect(summary.heldOutAccuracy as number).toBeGreaterThan(0.65); // chance: 0.5
  });

  it('PPO raises the gold reward', async () => {
    const [{ model: sftModel }, { model: rewardModel }] = [await sftStage(), await rewardStage()];
    const summary = await new PPOTrainer({
      name: 'ppo',
      task,
      model,
      init: { policy: sftModel, reward: rewardModel },
      rollout: { batchSize: 32 },
      algo: { epochs: 2, minibatches: 2 },
      trainer: { steps: 15, learningRate: 5e-4, ...evaluation },
      logging,
    }).train();
    expect(summary.finalGoldReward! - summary.baselineGoldReward!).toBeGreaterThan(0.3);
    expectPolicyStageSummary(summary, 'ppo', 15);
    expect(summary.generatedTokensPerSecond).toBeGreaterThan(0);
  });

  it('DPO raises the gold reward', async () => {
    const { model: sftModel } = await sftStage();
    const summary = await new DPOTrainer({ name: 'dpo', task, model, init: { policy: sftModel }, trainer: { steps: 30, batchSize: 32, learningRate: 1e-3, ...evaluation }, logging }).train();
    expect(summary.finalGoldReward! - summary.baselineGoldReward!).toBeGreaterThan(0.3);
    expectPolicyStageSummary(summary, 'dpo', 30);
  });

  it('GRPO (scored by the reward model) raises the gold reward', async () => {
    const [{ model: sftModel }, { model: rewardModel }] = [await sftStage(), await rewardStage()];
    const summary = await new GRPOTrainer({
      name: 'grpo',
      task,
      model,
      init: { policy: sftModel, reward: rewardModel },
      rollout: { promptsPerStep: 8, samplesPerPrompt: 4 },
      trainer: { steps: 15, learningRate: 5e-4, ...evaluation },
      logging,
    }).train();
    expect(summary.finalGoldReward! - summary.baselineGoldReward!).toBeGreaterThan(0.3);
    expectPolicyStageSummary(summary, 'grpo', 15);
    expect(summary.generatedTokensPerSecond).toBeGreaterThan(0);
  });
});

/** Every policy stage's summary names its method, steps, backend and KL, and points at the model it wrote. */
function expectPolicyStageSummary(summary: RunSummary, method: string, steps: number): void {
  expect(summary).toMatchObject({ method, steps });
  expect(summary.backend).toMatch(/^(wasm|cpu|tensorflow|tensorflow-gpu)$/);
  expect(summary.meanKl).toBeGreaterThanOrEqual(0);
  expect(existsSync(`${summary.model}.json`)).toBe(true);
}
