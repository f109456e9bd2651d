import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import { dpoLoss, ppoPolicyLoss, rewardModelLoss, sftLoss, valueLoss } from '../../algorithms/index.ts';
import { TEST_BACKENDS, expectClose, useBackend } from '../models/backends.ts';

/** d loss / d x by central differences, one element at a time (float32, so a coarse step). */
function numericalGradient(loss: (x: tf.Tensor) => tf.Scalar, x: number[], shape: number[], step = 1e-2): number[] {
  return x.map((_, i) => {
    const at = (delta: number) => {
      const shifted = x.slice();
      shifted[i]! += delta;
      return tf.tidy(() => loss(tf.tensor(shifted, shape)).dataSync()[0]!);
    };
    return (at(step) - at(-step)) / (2 * step);
  });
}

/** Analytic gradient through tf.grad, with the loss built inside tidy scopes as trainers do. */
function analyticGradient(loss: (x: tf.Tensor) => tf.Scalar, x: number[], shape: number[]): number[] {
  return tf.tidy(() => Array.from(tf.grad((input: tf.Tensor) => loss(input))(tf.tensor(x, shape)).dataSync()));
}

function expectGradientsAgree(loss: (x: tf.Tensor) => tf.Scalar, x: number[], shape: number[]): void {
  expectClose(analyticGradient(loss, x, shape), numericalGradient(loss, x, shape), 2e-2, 2e-3);
}

describe.each(TEST_BACKENDS)('loss gradients on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('every loss has gradients that match finite differences when built inside tidy scopes', () => {
    const mask = () => tf.tensor2d([[1, 1, 0], [1, 0, 0]]);
    const pairs = [-10.2, -20.5, -5.1];
    const opposite = () => tf.tensor1d([-11.7, -15.3, -5.9]);
    const reference = () => tf.tensor1d([-11, -18, -6]);
    const referenceRejected = () => tf.tensor1d([-11.5, -16, -6]);
    for (const variant of ['sigmoid', 'ipo', 'hinge'] as const) {
      expectGradientsAgree(
        (x) => dpoLoss(x as tf.Tensor1D, opposite(), reference(), referenceRejected(), { beta: 0.1, variant, labelSmoothing: variant === 'sigmoid' ? 0.1 : 0 }).loss,
        pairs,
        [3],
      );
    }
    expectGradientsAgree((x) => rewardModelLoss(x as tf.Tensor1D, tf.tensor1d([0.3, 0.1, -2])).loss, [1, -0.5, 2], [3]);
    expectGradientsAgree(
      (x) => valueLoss(x, tf.tensor2d([[0.2, 0.4, 0], [0.1, 0, 0]]), tf.tensor2d([[1, 0, 0], [0.5, 0, 0]]), mask(), { clip: 0.2 }).loss,
      [0.5, 0.13, 0, 0.25, 0, 0],
      [2, 3],
    );
    expectGradientsAgree(
      (x) => ppoPolicyLoss(x, tf.tensor2d([[-1.1, -2.3, -1], [-0.4, -1, -1]]), tf.tensor2d([[1, -2, 1], [0.5, 1, 1]]), mask(), { clipLow: 0.2, clipHigh: 0.2 }).loss,
      [-1, -2.35, -1, -0.45, -1, -1],
      [2, 3],
    );
    expectGradientsAgree(
      (x) => sftLoss(x as tf.Tensor3D, tf.tensor2d([[1, 0], [2, 1]], [2, 2], 'int32'), tf.tensor2d([[1, 1], [1, 0]])),
      [0.1, 0.5, -0.3, 1, 0, 0.2, -1, 0.4, 0.9, 0.3, 0.3, -0.2],
      [2, 2, 3],
    );
  });
});
