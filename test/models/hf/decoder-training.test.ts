/**
 * The HF decoder trains: its flat gradient matches the directional derivative of the loss (finite differences),
 * every weight receives gradient (tied embeddings through both the lookup and the output), Adam steps lower the
 * loss, and the value and score heads are differentiable too. On wasm and cpu.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { sftLoss } from '../../../algorithms/losses/sft.ts';
import { Adam } from '../../../models/adam.ts';
import { computeGradients } from '../../../models/compute-gradients.ts';
import type { HfDecoder } from '../../../models/hf/decoder.ts';
import { loadPretrained } from '../../../models/hf/pretrained.ts';
import { Rng } from '../../../models/rng.ts';
import { describeKernelRuns } from '../backends.ts';
import { FIXTURES } from './hf-fixtures.ts';

/** Two left-padded rows of length 6. */
function batchFor(vocabSize: number) {
  const tokens = Int32Array.from([0, 0, 5, 9, 11, 3, 7, 8, 2, 4, 6, 10].map((token) => token % vocabSize));
  const attentionMask = Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  return { tokens, batchSize: 2, length: 6, attentionMask };
}

/** Next-token cross-entropy over real tokens. */
function languageLoss(model: HfDecoder): tf.Scalar {
  const batch = batchFor(model.spec.vocabSize);
  return tf.tidy(() => {
    const logits = tf.slice(model.logits(batch), [0, 0, 0], [2, 5, model.spec.vocabSize]) as tf.Tensor3D;
    const targets = tf.tensor2d(Int32Array.from([1, 2, 3, 4, 5, 7, 8, 9, 10, 11].map((t) => batch.tokens[t]!)), [2, 5], 'int32');
    const mask = tf.tensor2d(Int32Array.from([1, 2, 3, 4, 5, 7, 8, 9, 10, 11].map((t) => batch.attentionMask[t - 1]!)), [2, 5], 'float32');
    return sftLoss(logits, targets, mask);
  });
}

function lossValue(model: HfDecoder, loss: (model: HfDecoder) => tf.Scalar): number {
  const value = loss(model);
  const number = value.dataSync()[0]!;
  value.dispose();
  return number;
}

describeKernelRuns('HF decoder training', () => {
  for (const fixture of ['llama-tied', 'qwen3', 'gpt2']) {
    it(`${fixture}: the flat gradient matches a finite-difference directional derivative, and reaches every tensor`, async () => {
      const { decoder: model } = await loadPretrained(join(FIXTURES, fixture));
      const { gradients } = computeGradients(model, () => languageLoss(model));
      for (const entry of model.parameters.manifest.entries) {
        const slice = gradients.subarray(entry.offset, entry.offset + entry.size);
        expect(slice.some((value) => value !== 0), `${entry.name} got no gradient`).toBe(true);
      }
      const rng = new Rng(3);
      const direction = Float32Array.from({ length: model.parameters.size }, () => rng.normal());
      let predicted = 0;
      for (let i = 0; i < direction.length; i++) predicted += gradients[i]! * direction[i]!;
      const original = model.parameters.data.slice();
      const step = 1e-3;
      const shifted = (sign: number) => {
        model.loadFlat(original.map((value, i) => value + sign * step * direction[i]!));
        return lossValue(model, languageLoss);
      };
      const measured = (shifted(1) - shifted(-1)) / (2 * step);
      model.loadFlat(original);
      expect(Math.abs(measured - predicted)).toBeLessThan(0.05 * Math.abs(predicted));
      model.dispose();
    });
  }

  it('llama-tied: ten Adam steps lower the language-model loss', async () => {
    const { decoder: model } = await loadPretrained(join(FIXTURES, 'llama-tied'));
    const adam = new Adam(model.parameters.size, { learningRate: 1e-2 });
    const before = lossValue(model, languageLoss);
    for (let step = 0; step < 10; step++) {
      const { gradients } = computeGradients(model, () => languageLoss(model));
      adam.step(model.parameters.data, gradients);
      model.refresh();
    }
    const after = lossValue(model, languageLoss);
    expect(after).toBeLessThan(before * 0.7);
    model.dispose();
  });

  it('a value head on a causal LM: one scalar per token, fresh score weights, differentiable', async () => {
    const { decoder: model } = await loadPretrained(join(FIXTURES, 'qwen2'), { head: 'value', seed: 4 });
    expect(model.parameters.entry('score.weight').shape).toEqual([model.spec.hiddenSize, 1]);
    const batch = batchFor(model.spec.vocabSize);
    const values = model.values(batch, { startPosition: 2 });
    expect(values.shape).toEqual([2, 4]);
    values.dispose();
    const { gradients } = computeGradients(model, () => tf.tidy(() => tf.sum(tf.square(model.values(batch))) as tf.Scalar));
    const score = model.parameters.entry('score.weight');
    expect(gradients.subarray(score.offset, score.offset + score.size).some((value) => value !== 0)).toBe(true);
    model.dispose();
  });

  it('llama-reward: the score head trains (a pairwise loss falls)', async () => {
    const { decoder: model } = await loadPretrained(join(FIXTURES, 'llama-reward'));
    const batch = batchFor(model.spec.vocabSize);
    // Bradley-Terry on row 0 (chosen) vs row 1 (rejected).
    const loss = (m: HfDecoder) => tf.tidy(() => {
      const scores = m.scores(batch);
      return tf.sum(tf.softplus(tf.sub(tf.slice(scores, [1], [1]), tf.slice(scores, [0], [1])))) as tf.Scalar; // -log sigmoid(chosen - rejected)
    });
    const adam = new Adam(model.parameters.size, { learningRate: 1e-2 });
    const before = lossValue(model, loss);
    for (let step = 0; step < 5; step++) {
      adam.step(model.parameters.data, computeGradients(model, () => loss(model)).gradients);
      model.refresh();
    }
    expect(lossValue(model, loss)).toBeLessThan(before);
    model.dispose();
  });
});
