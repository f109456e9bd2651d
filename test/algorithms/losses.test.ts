import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { aggregateLoss, dpoLoss, ppoPolicyLoss, rewardModelLoss, sftLoss, valueLoss } from '../../algorithms/index.ts';
import { TEST_BACKENDS, expectClose, take, useBackend } from '../models/backends.ts';
import { mask, matrix } from './reference-inputs.ts';

const logProbs = () => matrix([[-1, -2, -0.5, -3], [-0.1, -4, -1, -1], [-1, -1, -1, -1]]);
/** Row 1, token 0 has log-ratio 59.9: the ratio must be clamped to exp(20) before use. */
const oldLogProbs = () => matrix([[-1.2, -1.5, -0.5, -3], [-60, -3, -1, -1], [-1, -1, -1, -1]]);
const advantages = () => matrix([[1, -2, 0.5, 3], [2, -1, 4, 4], [1, 1, 1, 1]]);

describe.each(TEST_BACKENDS)('losses on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('ppoPolicyLoss: clipped surrogate, clip fraction and k3 KL over real tokens, huge ratio clamped', () => {
    const result = ppoPolicyLoss(logProbs(), oldLogProbs(), advantages(), mask(), { clipLow: 0.2, clipHigh: 0.2 });
    expectClose(take(result.loss), -0.34);
    expectClose(take(result.clipFraction), 0.8);
    expectClose(take(result.approxKl), 97033034.98112063);
    const asymmetric = ppoPolicyLoss(logProbs(), oldLogProbs(), advantages(), mask(), { clipLow: 0.2, clipHigh: 0.28, dualClip: 3 });
    expectClose(take(asymmetric.loss), -0.37628055163203394);
    expectClose(take(asymmetric.clipFraction), 0.6);
    tf.dispose([asymmetric.approxKl]);
  });

  it('ppoPolicyLoss dual clip bounds the loss of a negative advantage at -c * A', () => {
    const single = (dualClip?: number) =>
      ppoPolicyLoss(tf.tensor1d([0]), tf.tensor1d([-3]), tf.tensor1d([-1]), tf.tensor1d([1]), { clipLow: 0.2, clipHigh: 0.28, dualClip });
    expectClose(take(single(undefined).loss), Math.exp(3));
    expectClose(take(single(3).loss), 3);
  });

  it('ppoPolicyLoss of an all-padding batch is 0, not NaN', () => {
    const zeros = tf.zeros([2, 3]);
    const result = ppoPolicyLoss(zeros, zeros, tf.ones([2, 3]), zeros, { clipLow: 0.2, clipHigh: 0.2 });
    expect(take(result.loss)).toEqual([0]);
    expect(take(result.clipFraction)).toEqual([0]);
  });

  it('ppoPolicyLoss gradient flows only through real, unclipped tokens', () => {
    const gradient = tf.grad((x: tf.Tensor) => ppoPolicyLoss(x, oldLogProbs(), advantages(), mask(), { clipLow: 0.2, clipHigh: 0.2 }).loss)(logProbs());
    const values = take(gradient);
    expect(values.slice(8).map(Math.abs)).toEqual([0, 0, 0, 0]);
    expect(Math.abs(values[3]!)).toBe(0);
    // token (0, 0): ratio exp(0.2) > 1.2 with A > 0 is clipped; token (0, 2): ratio 1, d/dlogp = -A / 5 real tokens
    expect(Math.abs(values[0]!)).toBe(0);
    expectClose(values[2]!, -0.1);
  });

  it('valueLoss: half the larger of clipped and unclipped squared errors', () => {
    const values = () => matrix([[0.5, 0.1, -0.3, 0], [1, 2, 0, 0], [0, 0, 0, 0]]);
    const oldValues = () => matrix([[0.2, 0.4, -0.1, 5], [0, -0.3, 6, 6], [1, 1, 1, 1]]);
    const returns = () => matrix([[1, 0, 0.2, 1], [0.5, 1, 2, 3], [1, 1, 1, 1]]);
    const clipped = valueLoss(values(), oldValues(), returns(), mask(), { clip: 0.2 });
    expectClose(take(clipped.loss), 0.211);
    expectClose(take(clipped.clipFraction), 0.6);
    const plain = valueLoss(values(), oldValues(), returns(), mask());
    expectClose(take(plain.loss), 0.176);
    tf.dispose(plain.clipFraction);
  });

  it('dpoLoss: sigmoid (with and without label smoothing), ipo, hinge and implicit rewards', () => {
    const inputs = () =>
      [tf.tensor1d([-10, -20, -5]), tf.tensor1d([-12, -15, -5.5]), tf.tensor1d([-11, -18, -6]), tf.tensor1d([-11.5, -16, -6])] as const;
    const smoothed = dpoLoss(...inputs(), { beta: 0.1, variant: 'sigmoid', labelSmoothing: 0.1 });
    expectClose(take(smoothed.loss), 0.7112573134237818);
    expectClose(take(smoothed.chosenRewards), [0.1, -0.2, 0.1]);
    expectClose(take(smoothed.rejectedRewards), [-0.05, 0.1, 0.05]);
    const plain = dpoLoss(...inputs(), { beta: 0.1, variant: 'sigmoid' });
    expectClose(take(plain.loss), 0.7145906467571151);
    const ipo = dpoLoss(...inputs(), { beta: 0.1, variant: 'ipo' });
    expectClose(take(ipo.loss), 32.166666666666664);
    const hinge = dpoLoss(...inputs(), { beta: 0.1, variant: 'hinge' });
    expectClose(take(hinge.loss), 1.0333333333333332);
    tf.dispose([plain.chosenRewards, plain.rejectedRewards, ipo.chosenRewards, ipo.rejectedRewards, hinge.chosenRewards, hinge.rejectedRewards]);
  });

  it('rewardModelLoss: Bradley-Terry with optional per-pair margin, plus accuracy', () => {
    const chosen = () => tf.tensor1d([1, -0.5, 2, 0]);
    const rejected = () => tf.tensor1d([0, 0.5, 2.5, 0]);
    const plain = rewardModelLoss(chosen(), rejected());
    expectClose(take(plain.loss), 0.8234368849441245);
    expectClose(take(plain.accuracy), 0.25);
    const withMargin = rewardModelLoss(chosen(), rejected(), { margin: tf.tensor1d([0.5, 0, 1, 0.2]) });
    expectClose(take(withMargin.loss), 1.0717227047656683);
    tf.dispose(withMargin.accuracy);
  });

  it('sftLoss is the masked token-mean negative log-likelihood', () => {
    const logits = tf.tensor3d([
      [[1, 2, 0.5, -1, 0], [0, 0, 0, 0, 0], [3, -2, 1, 0.5, 0.1]],
      [[-1, 0.5, 2, 0, 1], [5, 1, 1, 1, 1], [0.2, 0.3, 0.4, 0.5, 0.6]],
    ]);
    const loss = sftLoss(logits, tf.tensor2d([[1, 4, 0], [2, 3, 0]], undefined, 'int32'), tf.tensor2d([[1, 1, 0], [1, 1, 1]]));
    expectClose(take(loss), 1.7296866499701935);
  });

  it('aggregateLoss: token-mean weighs tokens, sequence-mean weighs rows and skips empty rows', () => {
    const x = () => matrix([[1, 2, 4, 100], [-1, 3, 50, 50], [7, 7, 7, 7]]);
    expectClose(take(aggregateLoss(x(), mask(), 'token-mean')), 1.8);
    expectClose(take(aggregateLoss(x(), mask(), 'sequence-mean')), 1.6666666666666667);
    expectClose(take(aggregateLoss(x(), mask(), 'sum')), 9);
  });

  it('rejects wrong inputs with the function and argument named', () => {
    expect(() => ppoPolicyLoss(logProbs(), oldLogProbs(), advantages(), tf.ones([3, 3]), { clipLow: 0.2, clipHigh: 0.2 })).toThrow(
      /ppoPolicyLoss: mask has shape \[3,3\] but logProbs has shape \[3,4\]/,
    );
    expect(() => ppoPolicyLoss(logProbs(), oldLogProbs(), advantages(), mask(), { clipLow: 0.2, clipHigh: 0.2, dualClip: 0.5 })).toThrow(/dualClip must be > 1/);
    expect(() => dpoLoss(tf.tensor1d([1]), tf.tensor1d([1]), tf.tensor1d([1]), tf.tensor1d([1]), { beta: 0.1, variant: 'ipo', labelSmoothing: 0.1 })).toThrow(
      /labelSmoothing applies to the 'sigmoid' variant only/,
    );
    expect(() => sftLoss(tf.zeros([1, 2, 3]) as tf.Tensor3D, tf.zeros([1, 2]) as tf.Tensor2D, tf.ones([1, 2]) as tf.Tensor2D)).toThrow(/sftLoss: targets must be int32/);
  });
});
