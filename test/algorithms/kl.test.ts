import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdaptiveKlController, FixedKlController, klPenalty, klShapedRewards } from '../../algorithms/index.ts';
import { TEST_BACKENDS, expectClose, take, useBackend } from '../models/backends.ts';
import { mask, matrix } from './reference-inputs.ts';

const logProbs = () => matrix([[-1, -2, -0.5, -3], [-0.1, -4, -1, -1], [-1, -1, -1, -1]]);
const referenceLogProbs = () => matrix([[-1.5, -1, -0.5, -3], [-0.3, -5, -2, -1], [-1, -1, -1, -1]]);

describe.each(TEST_BACKENDS)('KL on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('klPenalty k1, k2, k3 per token', () => {
    expectClose(take(klPenalty(logProbs(), referenceLogProbs(), 'k1')), [0.5, -1, 0, 0, 0.2, 1, 1, 0, 0, 0, 0, 0]);
    expectClose(take(klPenalty(logProbs(), referenceLogProbs(), 'k2')), [0.125, 0.5, 0, 0, 0.02, 0.5, 0.5, 0, 0, 0, 0, 0]);
    expectClose(take(klPenalty(logProbs(), referenceLogProbs(), 'k3')), [
      0.10653066, 0.718281828, 0, 0, 0.018730753, 0.367879441, 0.367879441, 0, 0, 0, 0, 0,
    ]);
  });

  it('klPenalty k3 stays finite for a huge log-ratio', () => {
    const values = take(klPenalty(tf.tensor1d([-100]), tf.tensor1d([0]), 'k3'));
    expect(Number.isFinite(values[0])).toBe(true);
  });

  it('klShapedRewards puts -beta * KL on every real token and the score on the last one', () => {
    const { rewards, kl } = klShapedRewards(tf.tensor1d([2, -1, 0.5]), logProbs(), referenceLogProbs(), mask(), { beta: 0.05 });
    expectClose(take(rewards), [-0.025, 0.05, 2, 0, -0.01, -1.05, 0, 0, 0, 0, 0, 0]);
    expectClose(take(kl), [0.5, -1, 0, 0, 0.2, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('KL controllers', () => {
  it('AdaptiveKlController follows Ziegler et al.: e = clip(kl/target - 1, +-0.2), beta *= 1 + e n / horizon', () => {
    const controller = new AdaptiveKlController({ initial: 0.2, target: 6, horizon: 10000 });
    const seen: number[] = [];
    for (const [kl, steps] of [[3, 64], [12, 64], [6.6, 128], [100, 1]] as const) {
      controller.update(kl, steps);
      seen.push(controller.value);
    }
    expectClose(seen, [0.199744, 0.19999967232, 0.20025567190056962, 0.2002596770140076], 1e-12, 0);
  });

  it('controllers round-trip through state(); the fixed one never moves', () => {
    const adaptive = new AdaptiveKlController({ initial: 0.1, target: 4, horizon: 1000 });
    adaptive.update(8, 10);
    const state = adaptive.state();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    const restored = AdaptiveKlController.fromState(state as Extract<typeof state, { kind: 'adaptive' }>);
    restored.update(2, 5);
    adaptive.update(2, 5);
    expect(restored.value).toBe(adaptive.value);
    const fixed = new FixedKlController(0.05);
    fixed.update(100, 100);
    expect(fixed.state()).toEqual({ kind: 'fixed', value: 0.05 });
    expect(() => new AdaptiveKlController({ initial: 0.1, target: 0, horizon: 10 })).toThrow(/AdaptiveKlController: target must be > 0/);
  });
});
