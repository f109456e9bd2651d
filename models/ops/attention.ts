/**
 * Causal multi-head scaled dot-product attention (Vaswani et al. 2017, Eq. 1) on the fused qkv projection:
 * qkv (B, T, 3D) holds query | key | value of T new tokens, heads side by side (D = heads * headSize); an
 * optional cache (B, P, 2D) holds key | value of P earlier tokens. Keys are the P cached then the T new ones.
 *
 *   P_att = softmax(q k^T / sqrt(headSize) + mask),  y = P_att v
 *   query i (slot P + i) sees key j when j <= P + i and key j is real (keyMask 1).
 *
 * A query that sees no key (a left-pad slot) attends uniformly to every key instead of producing NaN; its
 * output is ignored downstream. Backward (per head, training only, no cache): dV = P^T dY; dP = dY V^T;
 * dS = P * (dP - rowsum(P * dP)); dQ = dS K / sqrt(hd); dK = dS^T Q / sqrt(hd).
 *
 * On wasm/cpu both directions are SIMD kernels (simd/kernels.c) that read q, k, v straight from the qkv rows
 * (no split, no head transposes) and skip masked pairs (half the work for causal attention); tfjs-wasm runs the
 * batched products of the composed version on a scalar loop at about 1 GFLOP/s. Elsewhere the composed version
 * with an additive -1e9 mask runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsAvailable, registerHostKernel, runHostKernel } from '../kernels/host-kernel.ts';
import { simdKernels } from '../kernels/simd-module.ts';

const FORWARD = 'PosttrainCausalAttention';
const BACKWARD = 'PosttrainCausalAttentionGrad';

/** Added to the scores of masked pairs in the composed version. exp(-1e9 - max) is exactly 0 in float32. */
export const MASKED_SCORE = -1e9;

/**
 * @param qkv (B, T, 3D) query | key | value of the new tokens
 * @param keyMask (B, P + T) float32, 1 for real keys
 * @param cache (B, P, 2D) key | value of earlier tokens (inference only: no gradient flows into it)
 * @returns (B, T, D)
 *
 * @example
 * const y = causalAttention(qkv, tf.ones([B, T]), { heads: 4 });
 */
export function causalAttention(qkv: tf.Tensor3D, keyMask: tf.Tensor2D, options: { heads: number; cache?: tf.Tensor3D }): tf.Tensor3D {
  const [batchSize, , width] = qkv.shape;
  const cache = options.cache ?? tf.zeros([batchSize, 0, (2 * width) / 3]);
  try {
    if (!hostKernelsAvailable()) return composedCausalAttention(qkv, keyMask, { heads: options.heads, cache });
    return runHostKernel(FORWARD, { qkv, cache, keyMask }, { heads: options.heads })[0] as tf.Tensor3D;
  } finally {
    if (!options.cache) cache.dispose();
  }
}

/** The same function from tfjs ops (any backend). */
export function composedCausalAttention(qkv: tf.Tensor3D, keyMask: tf.Tensor2D, { heads, cache }: { heads: number; cache: tf.Tensor3D }): tf.Tensor3D {
  return tf.tidy(() => {
    const [batchSize, queryCount, threeWidths] = qkv.shape;
    const width = threeWidths / 3;
    const pastLength = cache.shape[1];
    const keyCount = pastLength + queryCount;
    const headSize = width / heads;
    const [query, newKey, newValue] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const [pastKey, pastValue] = tf.split(cache, 2, 2) as [tf.Tensor3D, tf.Tensor3D];
    const key = tf.concat([pastKey, newKey], 1);
    const value = tf.concat([pastValue, newValue], 1);
    const split = (t: tf.Tensor, length: number) => tf.transpose(tf.reshape(t, [batchSize, length, heads, headSize]), [0, 2, 1, 3]);
    /** (T, S) 1 where causally allowed */
    const causal = tf.tensor2d(
      Array.from({ length: queryCount * keyCount }, (_, index) => (index % keyCount <= pastLength + Math.floor(index / keyCount) ? 1 : 0)),
      [queryCount, keyCount],
    );
    /** (B, 1, T, S) */
    const allowed = tf.mul(tf.reshape(causal, [1, 1, queryCount, keyCount]), tf.reshape(keyMask, [batchSize, 1, 1, keyCount]));
    const bias = tf.mul(tf.sub(1, allowed), MASKED_SCORE);
    const scores = tf.add(tf.matMul(tf.mul(split(query, queryCount), 1 / Math.sqrt(headSize)), split(key, keyCount), false, true), bias);
    const attended = tf.matMul(tf.softmax(scores), split(value, keyCount));
    return tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batchSize, queryCount, width]) as tf.Tensor3D;
  });
}

registerHostKernel<{ heads: number }>({
  kernelName: FORWARD,
  inputNames: ['qkv', 'cache', 'keyMask'],
  /** output (B, T, D), probabilities (B, H, T, S) */
  outputShapes: ([qkvShape, cacheShape], { heads }) => {
    const [batchSize, queryCount, threeWidths] = qkvShape!;
    return [[batchSize!, queryCount!, threeWidths! / 3], [batchSize!, heads, queryCount!, cacheShape![1]! + queryCount!]];
  },
  compute: (inputs, outputs, [[batchSize, queryCount, threeWidths], [, pastLength]], { heads }) => {
    simdKernels()!.call('attention_forward', { inputs, outputs, scalars: [batchSize!, queryCount!, pastLength!, threeWidths! / 3, heads] });
  },
});

registerHostKernel<{ heads: number }>({
  kernelName: BACKWARD,
  inputNames: ['dy', 'qkv', 'probabilities'],
  /** dqkv (B, T, 3D) */
  outputShapes: ([, qkvShape]) => [qkvShape!],
  compute: (inputs, outputs, [, [batchSize, queryCount, threeWidths]], { heads }) => {
    simdKernels()!.call('attention_backward', { inputs, outputs, scratchFloats: 2 * queryCount! * queryCount!, scalars: [batchSize!, queryCount!, threeWidths! / 3, heads] });
  },
});

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['qkv', 'cache', 'keyMask'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attributes) => {
    const [qkv, cache, keyMask, probabilities] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    if (cache.shape[1] !== 0) throw new Error('causalAttention: gradients through a KV cache are not supported (the cache is for inference)');
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const { heads } = attributes as unknown as { heads: number };
    return {
      qkv: () => runHostKernel(BACKWARD, { dy, qkv, probabilities }, { heads })[0]!,
      cache: () => tf.zerosLike(cache),
      keyMask: () => tf.zerosLike(keyMask),
    };
  },
});
