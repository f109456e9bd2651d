/**
 * The Hugging Face fixture checks of fixture-cases.ts on the `webgpu` backend (tfjs-backend-webgpu over Dawn;
 * with no GPU, Mesa's software GL ES renderer, which `.ci/run` installs): logits and next-token log-probs within
 * 1e-4 of transformers' float32 values on every fixture, identical greedy continuations, reward scores for left
 * and right padding. fixtures.test.ts runs the same checks on wasm and cpu, so each of the three backends is
 * within 1e-4 of one reference and any two of them agree within 2e-4 of each other.
 *
 * If the backend cannot start, `initEngine` throws and every test here fails: a WebGPU path that silently
 * stopped running in CI would be unchecked.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect } from 'vitest';
import { initEngine } from '../../../models/engine.ts';
import { hfFixtureCases } from './fixture-cases.ts';

describe('Hugging Face fixtures on webgpu', () => {
  beforeAll(async () => {
    const engine = await initEngine({ backend: 'webgpu' });
    expect(engine.backend).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
  });
  hfFixtureCases({ backend: 'webgpu' });
});
