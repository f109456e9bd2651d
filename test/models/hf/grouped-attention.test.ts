/**
 * The two grouped-query attention paths agree: the fused SIMD kernel (wasm/cpu) and the
 * composed grouped tfjs ops (every backend), forward with and without a KV cache, and their gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedGroupedAttention } from '../../../models/ops/fused-grouped-attention.ts';
import { attentionBias, groupedAttention } from '../../../models/ops/grouped-attention.ts';
import { TEST_BACKENDS, expectClose, useBackend } from '../backends.ts';

const [B, T, HEADS, KV_HEADS, D] = [2, 5, 6, 2, 4];
/** row 1 is left-padded by 2 */
const MASK = Int32Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1]);
/** (B, T, 1) 1 on real query rows (pad rows' outputs are never used) */
const realRows = () => tf.tensor3d(Float32Array.from(MASK), [B, T, 1]);

function composed(query: tf.Tensor3D, keyValues: tf.Tensor3D): tf.Tensor3D {
  const [keys, values] = tf.split(keyValues, 2, 2) as [tf.Tensor3D, tf.Tensor3D];
  return groupedAttention(query, keys, values, tf.tensor4d(attentionBias(MASK, B, 0, T, T), [B, 1, T, T]), { heads: HEADS, kvHeads: KV_HEADS });
}

function fused(query: tf.Tensor3D, keyValues: tf.Tensor3D): tf.Tensor3D {
  return fusedGroupedAttention(query, keyValues, tf.tensor2d(Float32Array.from(MASK), [B, T]), { heads: HEADS, kvHeads: KV_HEADS });
}

for (const backend of TEST_BACKENDS) {
  describe(`grouped-query attention on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const query = () => tf.randomNormal([B, T, HEADS * D], 0, 1, 'float32', 1) as tf.Tensor3D;
    const keyValues = () => tf.randomNormal([B, T, 2 * KV_HEADS * D], 0, 1, 'float32', 2) as tf.Tensor3D;

    it('fused kernel == composed ops on every real row', () => {
      const [a, b] = tf.tidy(() => [tf.mul(fused(query(), keyValues()), realRows()), tf.mul(composed(query(), keyValues()), realRows())]);
      expectClose(a!.dataSync(), b!.dataSync(), 1e-5, 1e-6);
      tf.dispose([a!, b!]);
    });

    it('the last token through a cache of the first four == the full pass', () => {
      const [full, cached] = tf.tidy(() => {
        const q = query();
        const kv = keyValues();
        const last = (t: tf.Tensor3D) => tf.slice(t, [0, T - 1, 0], [B, 1, -1]) as tf.Tensor3D;
        const past = tf.slice(kv, [0, 0, 0], [B, T - 1, -1]) as tf.Tensor3D;
        const step = fusedGroupedAttention(last(q), last(kv), tf.tensor2d(Float32Array.from(MASK), [B, T]), { heads: HEADS, kvHeads: KV_HEADS, cache: past });
        return [last(composed(q, kv)), step];
      });
      expectClose(cached!.dataSync(), full!.dataSync(), 1e-5, 1e-6);
      tf.dispose([full!, cached!]);
    });

    it('gradients with respect to queries and key | values agree', () => {
      const weights = tf.randomNormal([B, T, HEADS * D], 0, 1, 'float32', 3);
      const gradient = (attend: typeof fused) => tf.grads((q: tf.Tensor, kv: tf.Tensor) => tf.sum(tf.mul(tf.mul(attend(q as tf.Tensor3D, kv as tf.Tensor3D), realRows()), weights)))([query(), keyValues()]);
      const [fq, fkv] = gradient(fused);
      const [cq, ckv] = gradient(composed);
      expectClose(fq!.dataSync(), cq!.dataSync(), 1e-4, 1e-5);
      expectClose(fkv!.dataSync(), ckv!.dataSync(), 1e-4, 1e-5);
      tf.dispose([fq!, fkv!, cq!, ckv!, weights]);
    });
  });
}
