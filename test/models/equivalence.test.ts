import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dpoLoss, ppoPolicyLoss, rewardModelLoss, sftLoss, valueLoss } from '../../algorithms/index.ts';
import { GPT, computeGradients } from '../../models/index.ts';
import { actionLogProbs, actionValues, sequenceScores } from '../../rollout/index.ts';
import { expectClose, useBackend } from './backends.ts';

const CONFIG = { vocabSize: 11, contextLength: 12, dModel: 16, nHeads: 2, nLayers: 2 };
const batch = {
  batchSize: 2,
  promptLength: 4,
  responseLength: 5,
  sequences: Int32Array.from([0, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 0, 0]),
  attentionMask: Int32Array.from([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
};
const mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0];

function forwardBackward(): { loss: number; gradients: Float32Array } {
  const model = new GPT(CONFIG, { seed: 21 });
  const result = computeGradients(model, () =>
    tf.tidy(() => {
      const logProbs = actionLogProbs(model, batch);
      const actionMask = tf.tensor2d(mask, [2, 5]);
      const old = tf.fill([2, 5], -2.45) as tf.Tensor2D;
      const advantages = tf.tensor2d([1, -1, 0.5, 2, -0.3, 0.7, 1.2, -2, 0, 0], [2, 5]);
      return tf.add(ppoPolicyLoss(logProbs, old, advantages, actionMask, { clipLow: 0.2, clipHigh: 0.2 }).loss, 0) as tf.Scalar;
    }),
  );
  model.dispose();
  return result;
}

describe('backend equivalence', () => {
  it('wasm and cpu agree on the loss and every gradient of a GPT forward/backward', async () => {
    await useBackend('wasm');
    const wasm = forwardBackward();
    await useBackend('cpu');
    const cpu = forwardBackward();
    expectClose(wasm.loss, cpu.loss, 1e-5, 1e-6);
    expectClose(wasm.gradients, cpu.gradients, 1e-3, 1e-5);
    const norm = Math.hypot(...cpu.gradients);
    expect(norm).toBeGreaterThan(1e-3);
  });

  it('SFT, PPO, value, reward-model and DPO steps only use kernels the wasm backend has, gradients included', async () => {
    await useBackend('wasm');
    const policy = new GPT(CONFIG, { seed: 1 });
    const critic = new GPT(CONFIG, { head: 'value', seed: 2 });
    const reward = new GPT(CONFIG, { head: 'reward', seed: 3 });
    const tokens = Int32Array.from({ length: 2 * 6 }, (_, i) => i % 11);
    const actionMask = () => tf.tensor2d(mask, [2, 5]);
    const profile = await tf.profile(() => {
      computeGradients(policy, () =>
        sftLoss(policy.logits({ tokens, batchSize: 2, length: 6 }), tf.tensor2d(tokens, [2, 6], 'int32'), tf.ones([2, 6]) as tf.Tensor2D),
      );
      computeGradients(policy, () => {
        const logProbs = actionLogProbs(policy, batch);
        const ppo = ppoPolicyLoss(logProbs, tf.fill([2, 5], -2.4), tf.ones([2, 5]), actionMask(), { clipLow: 0.2, clipHigh: 0.28, dualClip: 3 }).loss;
        const sums = tf.sum(logProbs, 1) as tf.Tensor1D;
        const dpo = dpoLoss(tf.slice(sums, [0], [1]), tf.slice(sums, [1], [1]), tf.tensor1d([-9]), tf.tensor1d([-8]), { beta: 0.1, variant: 'sigmoid' }).loss;
        return tf.add(ppo, dpo) as tf.Scalar;
      });
      computeGradients(critic, () => valueLoss(actionValues(critic, batch), tf.zeros([2, 5]), tf.ones([2, 5]), actionMask(), { clip: 0.2 }).loss);
      computeGradients(reward, () => {
        const scores = sequenceScores(reward, batch);
        return rewardModelLoss(tf.slice(scores, [0], [1]), tf.slice(scores, [1], [1])).loss;
      });
    });
    const wasmKernels = new Set(tf.getKernelsForBackend('wasm').map((kernel) => kernel.kernelName));
    const used = new Set(profile.kernels.map((kernel) => kernel.name));
    const missing = [...used].filter((name) => !wasmKernels.has(name) && !name.includes('__op') && name !== 'unnamed scope');
    expect(missing).toEqual([]);
    expect(used.has('UnsortedSegmentSum')).toBe(false);
    expect(used.has('PosttrainCausalAttentionGrad')).toBe(true);
    for (const model of [policy, critic, reward]) model.dispose();
  });
});
