/**
 * Test helpers shared by test/models, test/rollout and test/algorithms: start the engine once per test file
 * and switch between the wasm and cpu backends in the same process (tfjs keeps both registered).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { initEngine } from '../../models/engine.ts';
import { setFusedKernels } from '../../models/kernels/host-kernel.ts';

/** The backends every numeric test runs on. */
export const TEST_BACKENDS = ['wasm', 'cpu'] as const;
export type TestBackend = (typeof TEST_BACKENDS)[number];

/** Starts the engine (single-threaded wasm: cheap to start in every test worker) and activates `backend`. */
export async function useBackend(backend: TestBackend): Promise<void> {
  await initEngine({ backend: 'wasm', threads: 1 });
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to start`);
}

/** One backend with the fused host kernels on or off. */
export interface KernelRun {
  backend: TestBackend;
  fused: boolean;
}

/** The fused host kernels on every test backend, then tfjs's composed ops on cpu (what the other backends run). */
export const KERNEL_RUNS: readonly KernelRun[] = [...TEST_BACKENDS.map((backend) => ({ backend, fused: true })), { backend: 'cpu', fused: false }];

/**
 * One `describe` per KERNEL_RUNS entry, titled `<title> on <backend>`, with that backend active and the fused
 * kernels on or off as the run says (back on afterwards). `body` gets the run it registers tests for.
 *
 * @example
 * describeKernelRuns('Hugging Face fixtures', () => { it('matches transformers', async () => { ... }); });
 */
export function describeKernelRuns(title: string, body: (run: KernelRun) => void): void {
  for (const run of KERNEL_RUNS) {
    const { backend, fused } = run;
    describe(`${title} on ${backend}${fused ? '' : ' (composed ops, fused kernels off)'}`, () => {
      beforeAll(async () => {
        await useBackend(backend);
        setFusedKernels(fused);
      });
      afterAll(() => setFusedKernels(true));
      body(run);
    });
  }
}

/** Element-wise |actual - expected| <= atol + rtol * |expected|, with the index of the first failure. */
export function expectClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, rtol = 1e-5, atol = 1e-6): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  expect(a.length).toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    const tolerance = atol + rtol * Math.abs(e[i]!);
    if (!(Math.abs(a[i]! - e[i]!) <= tolerance)) {
      expect.fail(`element ${i}: got ${a[i]}, expected ${e[i]} (tolerance ${tolerance}); actual [${a.join(', ')}]`);
    }
  }
}

/** Reads a tensor's values and disposes it. */
export function take(tensor: tf.Tensor): number[] {
  const values = Array.from(tensor.dataSync());
  tensor.dispose();
  return values;
}
