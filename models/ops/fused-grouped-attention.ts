/**
 * Grouped-query attention as one SIMD kernel each way (simd/kernels.c: grouped_attention_forward/backward), for
 * wasm and cpu: the same function as `groupedAttention` (grouped-attention.ts), reading q, k and v straight from
 * the projections (query head h reads kv head floor(h / G), as transformers' `repeat_kv`; no copies per head)
 * and skipping masked pairs. tfjs-wasm runs the composed version's batched products on a scalar loop.
 *
 * Backward (per head, training only, no cache), as attention.ts: dV += P^T dY; dP = dY V^T;
 * dS = P * (dP - rowsum(P * dP)); dQ = dS K / sqrt(d); dK += dS^T Q / sqrt(d); the G query heads of a kv head
 * add into its dK and dV.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerHostKernel, runHostKernel } from '../kernels/host-kernel.ts';
import { simdKernels } from '../kernels/simd-module.ts';

const FORWARD = 'PosttrainGroupedAttention';
const BACKWARD = 'PosttrainGroupedAttentionGrad';

interface Heads {
  heads: number;
  kvHeads: number;
}

/**
 * wasm/cpu only (check `hostKernelsAvailable()`).
 * @param query (B, T, Hq*d)
 * @param keyValues (B, T, 2*Hkv*d) key | value of the new tokens
 * @param keyMask (B, P + T) float32, 1 for real key slots
 * @param cache (B, P, 2*Hkv*d) key | value of earlier tokens (inference only: no gradient flows into it)
 * @returns (B, T, Hq*d)
 *
 * @example
 * const y = fusedGroupedAttention(q, tf.concat([k, v], 2), tf.ones([B, T]), { heads: 14, kvHeads: 2 });
 */
export function fusedGroupedAttention(
  query: tf.Tensor3D,
  keyValues: tf.Tensor3D,
  keyMask: tf.Tensor2D,
  { heads, kvHeads, cache }: Heads & { cache?: tf.Tensor3D },
): tf.Tensor3D {
  const [batchSize, , queryWidth] = query.shape;
  const headDim = queryWidth / heads;
  if (!Number.isInteger(headDim) || heads % kvHeads !== 0 || keyValues.shape[2] !== 2 * kvHeads * headDim) {
    throw new Error(`fusedGroupedAttention: query (${query.shape}) / keyValues (${keyValues.shape}) do not fit ${heads} query and ${kvHeads} kv heads`);
  }
  const past = cache ?? tf.zeros([batchSize, 0, keyValues.shape[2]]);
  try {
    return runHostKernel(FORWARD, { query, keyValues, cache: past, keyMask }, { heads, kvHeads })[0] as tf.Tensor3D;
  } finally {
    if (!cache) past.dispose();
  }
}

registerHostKernel<Heads>({
  kernelName: FORWARD,
  inputNames: ['query', 'keyValues', 'cache', 'keyMask'],
  /** output (B, T, Hq*d), probabilities (B, Hq, T, S) */
  outputShapes: ([queryShape, , cacheShape], { heads }) => {
    const [batchSize, queryCount, width] = queryShape as [number, number, number];
    return [
      [batchSize, queryCount, width],
      [batchSize, heads, queryCount, cacheShape![1]! + queryCount],
    ];
  },
  compute: (inputs, outputs, [[batchSize, queryCount, width], , [, pastLength]], { heads, kvHeads }) => {
    simdKernels()!.call('grouped_attention_forward', { inputs, outputs, scalars: [batchSize!, queryCount!, pastLength!, heads, kvHeads, width! / heads] });
  },
});

registerHostKernel<Heads>({
  kernelName: BACKWARD,
  inputNames: ['dy', 'query', 'keyValues', 'probabilities'],
  /** dquery (B, T, Hq*d), dkeyValues (B, T, 2*Hkv*d) */
  outputShapes: ([, queryShape, keyValuesShape]) => [queryShape!, keyValuesShape!],
  compute: (inputs, outputs, [, [batchSize, queryCount, width]], { heads, kvHeads }) => {
    simdKernels()!.call('grouped_attention_backward', {
      inputs,
      outputs,
      scratchFloats: 2 * queryCount! * queryCount!,
      scalars: [batchSize!, queryCount!, heads, kvHeads, width! / heads],
    });
  },
});

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['query', 'keyValues', 'cache', 'keyMask'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attributes) => {
    const [query, keyValues, cache, keyMask, probabilities] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    if (cache.shape[1] !== 0) throw new Error('fusedGroupedAttention: gradients through a KV cache are not supported (the cache is for inference)');
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const { heads, kvHeads } = attributes as unknown as Heads;
    const [dQuery, dKeyValues] = runHostKernel(BACKWARD, { dy, query, keyValues, probabilities }, { heads, kvHeads });
    return { query: () => dQuery!, keyValues: () => dKeyValues!, cache: () => tf.zerosLike(cache), keyMask: () => tf.zerosLike(keyMask) };
  },
});
