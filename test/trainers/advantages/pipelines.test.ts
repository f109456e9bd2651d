/**
 * The advantage pipelines are functions from a scored experience batch to a training batch, tested directly on
 * hand-written batches. PPO's must equal whiten(gae(klShapedRewards(...))) written out as plain loops the way
 * CleanRL writes them; the GRPO estimators must give the group-relative values worked out by hand.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { klShapedRewards, reinforcePlusPlusAdvantages } from '../../../algorithms/index.ts';
import type { ExperienceBatch } from '../../../rollout/experience.ts';
import { GROUP_ESTIMATORS, groupRelativeAdvantages } from '../../../trainers/advantages/group-estimators.ts';
import { ppoAdvantages } from '../../../trainers/advantages/ppo-advantages.ts';
import { meanSequenceKl } from '../../../trainers/advantages/sequence-kl.ts';
import { TEST_BACKENDS, expectClose, take, useBackend } from '../../models/backends.ts';

/** B = 2 rows, N = 3 actions; row 1 ended at its second action (its third is padding). */
function ppoBatch(): ExperienceBatch {
  return {
    batchSize: 2,
    promptLength: 1,
    responseLength: 3,
    sequences: Int32Array.of(1, 2, 3, 4, 1, 5, 6, 0),
    attentionMask: Int32Array.of(1, 1, 1, 1, 1, 1, 1, 0),
    actionMask: Float32Array.of(1, 1, 1, 1, 1, 0),
    logProbs: Float32Array.of(-1.0, -0.5, -2.0, -0.3, -1.2, -9),
    referenceLogProbs: Float32Array.of(-1.2, -0.4, -1.5, -0.3, -1.0, -7),
    values: Float32Array.of(0.2, 0.4, -0.1, 0.5, 0.3, 4),
    scores: Float32Array.of(1.5, -0.5),
    weightVersion: 3,
    weightChecksum: 'abc',
  };
}

/** The pipeline as plain loops (CleanRL's ppo.py GAE loop, TRL's masked whitening). */
function byHand(batch: ExperienceBatch, beta: number, gamma: number, lambda: number, whitenAdvantages: boolean) {
  const { batchSize: B, responseLength: N, actionMask: mask, logProbs, referenceLogProbs, values, scores } = batch;
  const rewards: number[] = [];
  const kl: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < N; t++) {
      const i = b * N + t;
      kl[i] = (logProbs[i]! - referenceLogProbs![i]!) * mask[i]!;
      const last = mask[i] === 1 && (t === N - 1 || mask[i + 1] === 0);
      rewards[i] = -beta * kl[i]! + (last ? scores![b]! : 0);
    }
  }
  const advantages: number[] = [];
  const returns: number[] = [];
  for (let b = 0; b < B; b++) {
    let lastGaeLam = 0;
    for (let t = N - 1; t >= 0; t--) {
      const i = b * N + t;
      if (mask[i] === 0) {
        advantages[i] = 0;
        returns[i] = 0;
        lastGaeLam = 0;
        continue;
      }
      const nextValue = t + 1 < N && mask[i + 1] === 1 ? values![i + 1]! : 0;
      const delta = rewards[i]! + gamma * nextValue - values![i]!;
      lastGaeLam = delta + gamma * lambda * lastGaeLam;
      advantages[i] = lastGaeLam;
      returns[i] = lastGaeLam + values![i]!;
    }
  }
  let final = advantages;
  if (whitenAdvantages) {
    const real = advantages.filter((_, i) => mask[i] === 1);
    const mean = real.reduce((sum, value) => sum + value, 0) / real.length;
    const variance = real.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (real.length - 1);
    final = advantages.map((value, i) => (mask[i] === 1 ? (value - mean) / Math.sqrt(variance + 1e-8) : 0));
  }
  const sequenceKl = [0, 1].map((b) => kl.slice(b * N, (b + 1) * N).reduce((sum, value) => sum + value, 0));
  return { rewards, advantages: final, returns, kl: (sequenceKl[0]! + sequenceKl[1]!) / 2 };
}

/** Two prompts x two samples, N = 2; the last row ended after one action. */
function groupBatch(scores: number[]): ExperienceBatch {
  return {
    batchSize: 4,
    promptLength: 1,
    responseLength: 2,
    sequences: new Int32Array(12),
    attentionMask: new Int32Array(12).fill(1),
    actionMask: Float32Array.of(1, 1, 1, 1, 1, 1, 1, 0),
    logProbs: Float32Array.of(-1, -1, -0.5, -0.5, -2, -1, -1, -5),
    referenceLogProbs: Float32Array.of(-1.5, -1, -0.5, -1, -1, -1, -1, -1),
    scores: Float32Array.from(scores),
    weightVersion: 1,
    weightChecksum: 'w',
  };
}

describe.each(TEST_BACKENDS)('advantage pipelines on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([true, false])('ppoAdvantages equals whiten(gae(klShapedRewards(...))) written out by hand (whiten: %s)', (whitenAdvantages) => {
    const batch = ppoBatch();
    const options = { klCoef: 0.1, klEstimator: 'k1' as const, gamma: 0.9, lambda: 0.8, whitenAdvantages };
    const { experience, stats } = ppoAdvantages(batch, options);
    const expected = byHand(batch, 0.1, 0.9, 0.8, whitenAdvantages);
    expectClose(experience.rewards!, expected.rewards);
    expectClose(experience.advantages!, expected.advantages);
    expectClose(experience.returns!, expected.returns);
    expectClose(stats.kl, expected.kl);
    expectClose(stats.modelReward, 0.5);
    expectClose(stats.meanReturn, (expected.returns[0]! + expected.returns[3]!) / 2);
    expectClose(stats.meanValue, (0.2 + 0.5) / 2);
    expect(stats).toMatchObject({ weightVersion: 3, weightChecksum: 'abc' });
    // The input batch is not changed: a function from a batch to a batch.
    expect(batch.advantages).toBeUndefined();
  });

  it('ppoAdvantages refuses a batch the scoring roles have not filled', () => {
    const { values: _values, ...unscored } = ppoBatch();
    expect(() => ppoAdvantages(unscored, { klCoef: 0.1, klEstimator: 'k1', gamma: 1, lambda: 1, whitenAdvantages: true })).toThrow(/ppoAdvantages needs experience with referenceLogProbs, scores and values/);
  });

  it('GRPO: (score - group mean) / (unbiased group std + 1e-4) on every action token, zero on padding', () => {
    const { experience, stats } = groupRelativeAdvantages(groupBatch([1, 0, 2, 2]), GROUP_ESTIMATORS.grpo, { samplesPerPrompt: 2, scale: 'group', klCoef: 0.1, klEstimator: 'k3' });
    const a = 0.5 / (Math.SQRT1_2 + 1e-4);
    expectClose(experience.advantages!, [a, a, -a, -a, 0, 0, 0, 0]);
    expect(stats.mixedGroups).toBe(0.5);
    expect(stats.score).toBe(1.25);
    expectClose(stats.kl, (0.5 + 0.5 - 1 + 0) / 4);
  });

  it("Dr. GRPO ('none'): centred only", () => {
    const { experience } = groupRelativeAdvantages(groupBatch([1, 0, 3, 1]), GROUP_ESTIMATORS.grpo, { samplesPerPrompt: 2, scale: 'none', klCoef: 0, klEstimator: 'k3' });
    expectClose(experience.advantages!, [0.5, 0.5, -0.5, -0.5, 1, 1, -1, 0]);
  });

  it('RLOO: score minus the mean of the other samples of the prompt', () => {
    const { experience } = groupRelativeAdvantages(groupBatch([1, 0, 3, 1]), GROUP_ESTIMATORS.rloo, { samplesPerPrompt: 2, scale: 'group', klCoef: 0.1, klEstimator: 'k3' });
    expectClose(experience.advantages!, [1, 1, -1, -1, 2, 2, -2, 0]);
  });

  it('REINFORCE++: the KL is in its reward (so not in the loss), advantages are its whitened returns-to-go', () => {
    expect(GROUP_ESTIMATORS['reinforce++'].klInReward).toBe(true);
    expect(GROUP_ESTIMATORS.grpo.klInReward).toBe(false);
    expect(GROUP_ESTIMATORS.rloo.klInReward).toBe(false);
    const batch = groupBatch([1, 0, 3, 1]);
    const { experience } = groupRelativeAdvantages(batch, GROUP_ESTIMATORS['reinforce++'], { samplesPerPrompt: 2, scale: 'group', klCoef: 0.1, klEstimator: 'k1' });
    const shape: [number, number] = [4, 2];
    const mask = tf.tensor2d(batch.actionMask, shape);
    const { rewards } = klShapedRewards(tf.tensor1d(batch.scores!), tf.tensor2d(batch.logProbs, shape), tf.tensor2d(batch.referenceLogProbs!, shape), mask, { beta: 0.1, estimator: 'k1' });
    expectClose(experience.advantages!, take(reinforcePlusPlusAdvantages(rewards, mask, { gamma: 1 }).advantages));
  });
});

describe('meanSequenceKl', () => {
  it('is the mean over rows of the summed log ratio on action tokens', () => {
    const batch = groupBatch([0, 0, 0, 0]);
    expect(meanSequenceKl(batch, batch.referenceLogProbs!)).toBeCloseTo((0.5 + 0.5 - 1 + 0) / 4, 12);
    expect(meanSequenceKl({ batchSize: 0, logProbs: new Float32Array(0), actionMask: new Float32Array(0) }, new Float32Array(0))).toBe(0);
  });
});
