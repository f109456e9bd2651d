import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setFusedKernels } from '../../models/index.ts';
import { causalAttention } from '../../models/ops/attention.ts';
import { gatherRows } from '../../models/ops/gather-rows.ts';
import { gelu } from '../../models/ops/gelu.ts';
import { layerNorm } from '../../models/ops/layer-norm.ts';
import { Rng } from '../../models/rng.ts';
import { TEST_BACKENDS, expectClose, useBackend } from './backends.ts';

const rng = new Rng(17);
const random = (shape: number[], scale = 1) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale);

/** Value and gradients (w.r.t. the first `differentiable` inputs, for a random upstream gradient) of `op`. */
function evaluate(fused: boolean, op: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: () => tf.Tensor[], upstream: number[], differentiable: number): number[][] {
  setFusedKernels(fused);
  return tf.tidy(() => {
    const xs = inputs();
    const floats = xs.slice(0, differentiable);
    const { value, grads } = tf.engine().gradients(() => {
      const out = op(...xs);
      return tf.sum(tf.mul(out, tf.reshape(tf.tensor(upstream), out.shape))) as tf.Scalar;
    }, floats);
    const output = op(...xs);
    return [Array.from(output.dataSync()), ...grads.map((gradient) => Array.from(gradient.dataSync())), [value.dataSync()[0]!]];
  });
}

function expectFusedEqualsComposed(op: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: () => tf.Tensor[], outputSize: number, differentiable = 1): void {
  const upstream = random([outputSize]);
  const fused = evaluate(true, op, inputs, upstream, differentiable);
  const composed = evaluate(false, op, inputs, upstream, differentiable);
  expect(fused.length).toBe(composed.length);
  fused.forEach((values, i) => expectClose(values, composed[i]!, 1e-4, 1e-5));
}

describe.each(TEST_BACKENDS)('fused host kernels equal composed tfjs ops on %s (values and gradients)', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => setFusedKernels(true));

  it('layerNorm', () => {
    const x = random([6, 10], 3);
    const weight = random([10]);
    const bias = random([10]);
    expectFusedEqualsComposed((a, w, b) => layerNorm(a!, w as tf.Tensor1D, b as tf.Tensor1D), () => [tf.tensor2d(x, [6, 10]), tf.tensor1d(weight), tf.tensor1d(bias)], 60, 3);
  });

  it('gelu, including the far tails', () => {
    const x = [...random([40], 2), -12, -6, -3, 0, 3, 6, 12, 1e-4];
    expectFusedEqualsComposed((a) => gelu(a!), () => [tf.tensor1d(x)], x.length);
  });

  it('gatherRows with repeated rows (the gradient adds them)', () => {
    const table = random([5, 3]);
    expectFusedEqualsComposed((t, i) => gatherRows(t as tf.Tensor2D, i as tf.Tensor1D), () => [tf.tensor2d(table, [5, 3]), tf.tensor1d([4, 0, 4, 2, 4], 'int32')], 15);
  });

  it('causalAttention with left padding and a cached past', () => {
    const [B, T, past, D, heads] = [2, 3, 2, 8, 2];
    const S = past + T;
    const query = random([B, T, D]);
    const key = random([B, S, D]);
    const value = random([B, S, D]);
    // Row 0: first two key slots are padding (so its first query slot sees only itself); row 1: all real.
    const keyMask = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
    for (const pastLength of [past, 0]) {
      const keys = pastLength === 0 ? T : S;
      expectFusedEqualsComposed(
        (q, k, v, m) => causalAttention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, m as tf.Tensor2D, { heads, pastLength }),
        () => [
          tf.tensor3d(query, [B, T, D]),
          tf.tensor3d(key.slice(0, B * keys * D), [B, keys, D]),
          tf.tensor3d(value.slice(0, B * keys * D), [B, keys, D]),
          tf.tensor2d(pastLength === 0 ? [0, 1, 1, 1, 1, 1] : keyMask, [B, keys]),
        ],
        B * T * D,
        3,
      );
    }
  });
});

describe('SIMD kernel module', () => {
  it('the committed kernels.wasm was built from the committed kernels.c (run models/kernels/simd/build.sh)', () => {
    const folder = new URL('../../models/kernels/simd/', import.meta.url);
    const recorded = JSON.parse(readFileSync(new URL('kernels.wasm.json', folder), 'utf8')) as { sha256: string };
    const source = createHash('sha256').update(readFileSync(new URL('kernels.c', folder))).digest('hex');
    expect(recorded.sha256).toBe(source);
  });
});
