import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gae, groupAdvantages, leaveOneOutAdvantages, reinforcePlusPlusAdvantages, whiten } from '../../algorithms/index.ts';
import { TEST_BACKENDS, expectClose, take, useBackend } from '../models/backends.ts';
import { mask, matrix } from './reference-inputs.ts';

const rewards = () => matrix([[0.5, -0.2, 1.0, 9.0], [0.1, 0.3, 7.0, 7.0], [1, 2, 3, 4]]);
const values = () => matrix([[0.2, 0.4, -0.1, 5.0], [0.0, -0.3, 6.0, 6.0], [1, 1, 1, 1]]);

describe.each(TEST_BACKENDS)('advantages on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('gae matches the backward recursion and ignores padding (gamma 0.9, lambda 0.8)', () => {
    const { advantages, returns } = gae(rewards(), values(), mask(), { gamma: 0.9, lambda: 0.8 });
    expectClose(take(advantages), [0.73344, 0.102, 1.1, 0, 0.262, 0.6, 0, 0, 0, 0, 0, 0]);
    expectClose(take(returns), [0.93344, 0.502, 1.0, 0, 0.262, 0.3, 0, 0, 0, 0, 0, 0]);
  });

  it('gae with lambda 1 and gamma 1 gives returns-to-go minus the baseline', () => {
    const { advantages, returns } = gae(matrix([[1, 2, 3]]), matrix([[0.5, 0.5, 0.5]]), matrix([[1, 1, 1]]), { gamma: 1, lambda: 1 });
    expectClose(take(returns), [6, 5, 3]);
    expectClose(take(advantages), [5.5, 4.5, 2.5]);
  });

  it('whiten uses the unbiased masked variance and zeroes padding', () => {
    const x = () => matrix([[1, 2, 4, 100], [-1, 3, 50, 50], [7, 7, 7, 7]]);
    expectClose(take(whiten(x(), mask())), [-0.415900195, 0.103975049, 1.143725537, 0, -1.455650684, 0.623850293, 0, 0, 0, 0, 0, 0]);
    expectClose(take(whiten(x(), mask(), { shiftMean: false })), [1.384099805, 1.903975049, 2.943725537, 0, 0.344349316, 2.423850293, 0, 0, 0, 0, 0, 0]);
  });

  it('groupAdvantages normalises within each group; a constant group gets 0, not NaN', () => {
    const group = () => tf.tensor1d([1, 0, 0.5, 0.5, 2, 2, 2, 2, 0, 1, 3, -1]);
    expectClose(take(groupAdvantages(group(), 4, { scale: 'group' })), [
      1.224444945, -1.224444945, 0, 0, 0, 0, 0, 0, -0.43912932, 0.14637644, 1.31738796, -1.02463508,
    ]);
    expectClose(take(groupAdvantages(group(), 4, { scale: 'none' })), [0.5, -0.5, 0, 0, 0, 0, 0, 0, -0.75, 0.25, 2.25, -1.75]);
  });

  it('leaveOneOutAdvantages subtracts the mean of the other samples', () => {
    const group = tf.tensor1d([1, 0, 0.5, 0.5, 2, 2, 2, 2, 0, 1, 3, -1]);
    expectClose(take(leaveOneOutAdvantages(group, 4)), [0.666666667, -0.666666667, 0, 0, 0, 0, 0, 0, -1, 0.333333333, 3, -2.333333333]);
  });

  it('reinforcePlusPlusAdvantages whitens discounted returns-to-go over the whole batch', () => {
    const { advantages, returns } = reinforcePlusPlusAdvantages(rewards(), mask(), { gamma: 0.9 });
    expectClose(take(returns), [1.13, 0.7, 1.0, 0, 0.37, 0.3, 0, 0, 0, 0, 0, 0]);
    expectClose(take(advantages), [1.166215565, 0, 0.813638767, 0, -0.895002643, -1.084851689, 0, 0, 0, 0, 0, 0]);
  });

  it('rejects mismatched shapes and bad options with the function and argument named', () => {
    expect(() => gae(rewards(), matrix([[1, 2]]), mask(), { gamma: 1, lambda: 1 })).toThrow(/gae: values has shape \[1,2\] but rewards has shape \[3,4\]/);
    expect(() => gae(rewards(), values(), mask(), { gamma: 1.5, lambda: 1 })).toThrow(/gae: gamma must be in \[0, 1\], got 1.5/);
    expect(() => groupAdvantages(tf.tensor1d([1, 2, 3]), 2, { scale: 'group' })).toThrow(/groupAdvantages: batch of 3 rewards is not divisible by groupSize 2/);
    expect(() => leaveOneOutAdvantages(tf.tensor1d([1, 2]), 1)).toThrow(/leaveOneOutAdvantages: groupSize must be an integer >= 2/);
  });
});
