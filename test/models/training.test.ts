import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { sftLoss } from '../../algorithms/index.ts';
import { Adam, GPT, Rng, computeGradients } from '../../models/index.ts';
import { useBackend } from './backends.ts';

const CONFIG = { vocabSize: 16, contextLength: 16, dModel: 32, nHeads: 2, nLayers: 2 };
const LENGTH = 12;

/** A deterministic synthetic language: row (start, stride) counts start, start + stride, ... modulo the vocabulary. */
function corpus(rows: (readonly [number, number])[]): Int32Array {
  const tokens = new Int32Array(rows.length * LENGTH);
  rows.forEach(([start, stride], row) => {
    for (let t = 0; t < LENGTH; t++) tokens[row * LENGTH + t] = (start + stride * t) % CONFIG.vocabSize;
  });
  return tokens;
}

/** Next-token loss of `rows` (B, LENGTH): inputs are rows[:, :-1], targets rows[:, 1:]. */
function lossOf(model: GPT, rows: Int32Array, batchSize: number): tf.Scalar {
  const inputs = new Int32Array(batchSize * (LENGTH - 1));
  const targets = new Int32Array(batchSize * (LENGTH - 1));
  for (let b = 0; b < batchSize; b++) {
    inputs.set(rows.subarray(b * LENGTH, b * LENGTH + LENGTH - 1), b * (LENGTH - 1));
    targets.set(rows.subarray(b * LENGTH + 1, (b + 1) * LENGTH), b * (LENGTH - 1));
  }
  return tf.tidy(() =>
    sftLoss(
      model.logits({ tokens: inputs, batchSize, length: LENGTH - 1 }),
      tf.tensor2d(targets, [batchSize, LENGTH - 1], 'int32'),
      tf.ones([batchSize, LENGTH - 1]) as tf.Tensor2D,
    ),
  );
}

describe('training smoke run on wasm', () => {
  beforeAll(() => useBackend('wasm'));

  it('40 Adam steps on a synthetic corpus lower held-out loss clearly, with no tensor leak', () => {
    const model = new GPT(CONFIG, { seed: 0 });
    const adam = new Adam(model.parameters.size, { learningRate: 1e-2, maxGradNorm: 1 });
    const rng = new Rng(1);
    // 48 possible rows (16 starts x strides 1..3); 8 are never trained on: the model must learn the rule.
    const all = Array.from({ length: 48 }, (_, i) => [i % 16, 1 + Math.floor(i / 16)] as const);
    const heldOutRows = all.filter((_, i) => i % 6 === 1);
    const trainRows = all.filter((_, i) => i % 6 !== 1);
    const heldOut = corpus(heldOutRows);
    const heldOutLoss = () => {
      const loss = lossOf(model, heldOut, 8);
      const value = loss.dataSync()[0]!;
      loss.dispose();
      return value;
    };
    const before = heldOutLoss();
    let tensorsAfterFirstStep = -1;
    for (let step = 0; step < 40; step++) {
      const rows = Array.from({ length: 16 }, () => trainRows[rng.int(trainRows.length)]!);
      const { gradients } = computeGradients(model, () => lossOf(model, corpus(rows), 16));
      adam.step(model.parameters.data, gradients);
      model.refresh();
      model.parameterTensors();
      if (step === 0) tensorsAfterFirstStep = tf.memory().numTensors;
    }
    const after = heldOutLoss();
    expect(before).toBeGreaterThan(2.3);
    expect(after).toBeLessThan(before * 0.5);
    expect(tf.memory().numTensors).toBe(tensorsAfterFirstStep);
    model.dispose();
  });
});
