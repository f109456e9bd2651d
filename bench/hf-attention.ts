/**
 * `npm run bench -- hf-attention [--iters 5] [--batch 4] [--length 128] [--backend wasm] [--threads N]`
 *
 * Grouped-query attention of the HF decoder at Qwen2.5-0.5B's attention shape (14 query heads, 2 key/value
 * heads, head_dim 64) on a left-padded batch, forward and forward + backward, through its two paths:
 * `fusedGroupedAttention` (one SIMD kernel each way; what wasm/cpu run) and `groupedAttention`
 * (composed tfjs ops; what other backends run). The reference figure from the same run is a plain 2-D product
 * on the same backend (XNNPACK on wasm: the fastest dense path it has), to read the attention GFLOP/s against.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../models/engine.ts';
import { fusedGroupedAttention } from '../models/ops/fused-grouped-attention.ts';
import { attentionBias, groupedAttention } from '../models/ops/grouped-attention.ts';
import { loadAverage, machineInfo } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

const HEADS = 14;
const KV_HEADS = 2;
const HEAD_DIM = 64;

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { iters: 'number', batch: 'number', length: 'number', backend: 'string', threads: 'number' });
  const iterations = Number(flags.iters ?? 5);
  const batchSize = Number(flags.batch ?? 4);
  const length = Number(flags.length ?? 128);
  const engine = await initEngine({ backend: (flags.backend as 'wasm' | 'cpu' | undefined) ?? 'wasm', ...(flags.threads ? { threads: Number(flags.threads) } : {}) });
  const width = HEADS * HEAD_DIM;
  const kvWidth = KV_HEADS * HEAD_DIM;
  /** row b is left-padded by 8b slots */
  const mask = Int32Array.from({ length: batchSize * length }, (_, i) => (i % length < Math.floor(i / length) * 8 ? 0 : 1));
  const query = tf.randomNormal([batchSize, length, width]) as tf.Tensor3D;
  const keyValues = tf.randomNormal([batchSize, length, 2 * kvWidth]) as tf.Tensor3D;
  const keyMask = tf.tensor2d(Float32Array.from(mask), [batchSize, length]);
  const bias = tf.tensor4d(attentionBias(mask, batchSize, 0, length, length), [batchSize, 1, length, length]);
  const paths = {
    fused_kernel: (q: tf.Tensor3D, kv: tf.Tensor3D) => fusedGroupedAttention(q, kv, keyMask, { heads: HEADS, kvHeads: KV_HEADS }),
    composed_ops: (q: tf.Tensor3D, kv: tf.Tensor3D) => {
      const [keys, values] = tf.split(kv, 2, 2) as [tf.Tensor3D, tf.Tensor3D];
      return groupedAttention(q, keys, values, bias, { heads: HEADS, kvHeads: KV_HEADS });
    },
  };
  // q k^T and P v over the causal half: 2 products x 2 flops x B x Hq x T^2/2 x d.
  const flops = 2 * 2 * batchSize * HEADS * ((length * length) / 2) * HEAD_DIM;

  const time = (run: () => void): number => {
    run();
    const seconds: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const start = performance.now();
      run();
      seconds.push((performance.now() - start) / 1000);
    }
    return median(seconds);
  };
  const results: Record<string, { forward_s: number; forward_backward_s: number; forward_gflops: number }> = {};
  const outputs: Record<string, Float32Array> = {};
  for (const [name, attend] of Object.entries(paths)) {
    const forward = time(() => tf.tidy(() => void attend(query, keyValues).dataSync()));
    const backward = time(() =>
      tf.tidy(() => {
        const gradients = tf.grads((q: tf.Tensor, kv: tf.Tensor) => tf.sum(tf.mul(attend(q as tf.Tensor3D, kv as tf.Tensor3D), query)))([query, keyValues]);
        for (const gradient of gradients) gradient.dataSync();
      }),
    );
    outputs[name] = tf.tidy(() => attend(query, keyValues).dataSync() as Float32Array);
    results[name] = { forward_s: round(forward, 4), forward_backward_s: round(backward, 4), forward_gflops: round(flops / forward / 1e9, 2) };
  }
  let maxDifference = 0;
  const rowsReal = (index: number) => mask[Math.floor(index / width)] === 1;
  outputs.fused_kernel!.forEach((value, i) => rowsReal(i) && (maxDifference = Math.max(maxDifference, Math.abs(value - outputs.composed_ops![i]!))));

  const a = tf.randomNormal([batchSize * length, width]);
  const b = tf.randomNormal([width, width]);
  const matmulSeconds = time(() => tf.tidy(() => void tf.matMul(a, b).dataSync()));
  tf.dispose([a, b, query, keyValues, keyMask, bias]);

  process.stdout.write(
    `${JSON.stringify({
      bench: 'hf-attention',
      machine: machineInfo(),
      engine,
      load_average: loadAverage(),
      shape: { batch: batchSize, length, heads: HEADS, kv_heads: KV_HEADS, head_dim: HEAD_DIM, padding: 'row b left-padded by 8b' },
      ...results,
      fused_speedup: {
        forward: round(results.composed_ops!.forward_s / results.fused_kernel!.forward_s, 2),
        forward_backward: round(results.composed_ops!.forward_backward_s / results.fused_kernel!.forward_backward_s, 2),
      },
      max_abs_difference_real_rows: maxDifference,
      reference_dense_matmul_gflops: round((2 * batchSize * length * width * width) / matmulSeconds / 1e9, 2),
    })}\n`,
  );
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
