/**
 * The decoder computes what Hugging Face transformers computes (eager attention, float32) on every fixture of
 * ../shared/fixtures/hf (checks in fixture-cases.ts): logits and next-token log-probs within 1e-4 of
 * transformers' float32 values (max abs), identical greedy continuations, reward scores within 1e-4 for left
 * and right padding; on wasm and cpu (OpenBLAS and the native kernels when the addon is built), and once more
 * with the fused kernels off (the composed tfjs ops that webgpu runs). fixtures-webgpu.test.ts runs the same
 * checks on webgpu. Each backend within 1e-4 of the same reference means any two of wasm, cpu and webgpu agree
 * within 2e-4 of each other.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll } from 'vitest';
import { describeKernelRuns } from '../backends.ts';
import { hfFixtureCases } from './fixture-cases.ts';

describeKernelRuns('Hugging Face fixtures', ({ backend, fused }) => hfFixtureCases({ backend: fused ? backend : `${backend} (fused kernels off)` }));

afterAll(() => tf.disposeVariables());
