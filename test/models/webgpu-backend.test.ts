/**
 * The `webgpu` backend (tfjs-backend-webgpu over Dawn) against the cpu backend. With no GPU it runs on Mesa's
 * software renderer, which `.ci/run` installs; if the backend cannot start, these tests fail: a WebGPU path
 * that silently stops running in CI would be untested.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { sftLoss } from '../../algorithms/index.ts';
import { BENCH_S, GPT, computeGradients, engineChoice, initEngine } from '../../models/index.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import { backendConformance } from './backend-conformance.ts';

backendConformance('webgpu', async () => {
  await initEngine({ backend: 'webgpu' });
});

describe('webgpu engine', () => {
  it('names its adapter and says whether it is a software renderer', () => {
    const choice = engineChoice()!;
    expect(choice.backend).toBe('webgpu');
    expect(choice.adapter).toBeDefined();
    expect(choice.reason).toContain(choice.adapter!.software ? 'software renderer on the CPU' : 'hardware GPU');
    expect(choice.reason).toContain(choice.adapter!.device);
  });

  it('the synchronous computeGradients says to use computeGradientsAsync instead of failing inside tfjs', () => {
    const model = new GPT(BENCH_S, { seed: 1 });
    const tokens = Int32Array.from({ length: 8 }, (_, i) => i + 3);
    const error = (() => {
      try {
        computeGradients(model, () => sftLoss(model.logits({ tokens, batchSize: 1, length: 8 }), tf.tensor2d(tokens, [1, 8], 'int32'), tf.ones([1, 8]) as tf.Tensor2D));
      } catch (caught) {
        return caught;
      }
    })();
    model.dispose();
    expect(error).toBeInstanceOf(PosttrainError);
    expect((error as PosttrainError).message).toMatch(/computeGradientsAsync/);
  });
});
