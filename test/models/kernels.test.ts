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

  it('causalAttention with left padding (values and gradients)', () => {
    const [B, T, D, heads] = [2, 4, 8, 2];
    const qkv = random([B, T, 3 * D]);
    // Row 0: first two slots are padding (its first query sees no key); row 1: all real.
    const keyMask = [0, 0, 1, 1, 1, 1, 1, 1];
    expectFusedEqualsComposed(
      (x, m) => causalAttention(x as tf.Tensor3D, m as tf.Tensor2D, { heads }),
      () => [tf.tensor3d(qkv, [B, T, 3 * D]), tf.tensor2d(keyMask, [B, T])],
      B * T * D,
      1,
    );
  });

  it('causalAttention over a KV cache equals attention over the whole sequence', () => {
    const [B, P, T, D, heads] = [2, 3, 2, 8, 2];
    const past = random([B, P, 3 * D]);
    const next = random([B, T, 3 * D]);
    const keyMask = tf.tensor2d([0, 1, 1, 1, 1, 1, 1, 1, 1, 1], [B, P + T]);
    for (const fused of [true, false]) {
      setFusedKernels(fused);
      const [cached, whole] = tf.tidy(() => {
        const cache = tf.slice(tf.tensor3d(past, [B, P, 3 * D]), [0, 0, D], [B, P, 2 * D]) as tf.Tensor3D;
        const incremental = causalAttention(tf.tensor3d(next, [B, T, 3 * D]), keyMask, { heads, cache });
        const all = tf.concat([tf.tensor3d(past, [B, P, 3 * D]), tf.tensor3d(next, [B, T, 3 * D])], 1) as tf.Tensor3D;
        const full = tf.slice(causalAttention(all, keyMask, { heads }), [0, P, 0], [B, T, D]);
        return [Array.from(incremental.dataSync()), Array.from(full.dataSync())];
      });
      expectClose(cached, whole, 1e-5, 1e-6);
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
