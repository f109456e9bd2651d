/**
 * Causal multi-head scaled dot-product attention (Vaswani et al. 2017, Eq. 1) over heads laid side by side in
 * the model width: query (B, T, D), key/value (B, S, D) with S = past + T, D = heads * headSize.
 *
 *   P = softmax(q k^T / sqrt(headSize) + mask),  y = P v
 *   query i (slot past + i) sees key j when j <= past + i and key j is real (keyMask 1).
 *
 * A query that sees no key (a left-pad slot) attends uniformly to every key instead of producing NaN; its
 * output is ignored downstream. Backward (per head): dV = P^T dY; dP = dY V^T; dS = P * (dP - rowsum(P * dP));
 * dQ = dS K / sqrt(hd); dK = dS^T Q / sqrt(hd).
 *
 * On wasm/cpu both directions are SIMD kernels (simd/kernels.c) that skip masked pairs (half the work for causal
 * attention) and need no head transposes; tfjs-wasm runs the batched products of the composed version on a
 * scalar loop at about 1 GFLOP/s. Elsewhere the composed version with an additive -1e9 mask runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsAvailable, registerHostKernel, runHostKernel } from '../kernels/host-kernel.ts';
import { simdKernels } from '../kernels/simd-module.ts';

const FORWARD = 'PosttrainCausalAttention';
const BACKWARD = 'PosttrainCausalAttentionGrad';

/** Added to the scores of masked pairs in the composed version. exp(-1e9 - max) is exactly 0 in float32. */
export const MASKED_SCORE = -1e9;

interface AttentionAttributes {
  heads: number;
  pastLength: number;
}

/**
 * @param query (B, T, D)
 * @param key (B, S, D), S = pastLength + T
 * @param value (B, S, D)
 * @param keyMask (B, S) float32, 1 for real keys
 * @returns (B, T, D)
 *
 * @example
 * const y = causalAttention(q, k, v, tf.ones([B, S]), { heads: 4, pastLength: 0 });
 */
export function causalAttention(
  query: tf.Tensor3D,
  key: tf.Tensor3D,
  value: tf.Tensor3D,
  keyMask: tf.Tensor2D,
  options: AttentionAttributes,
): tf.Tensor3D {
  if (!hostKernelsAvailable()) return composedCausalAttention(query, key, value, keyMask, options);
  return tf.tidy(() => runHostKernel(FORWARD, { query, key, value, keyMask }, { heads: options.heads, pastLength: options.pastLength })[0] as tf.Tensor3D);
}

/** The same function from tfjs ops (any backend). */
export function composedCausalAttention(
  query: tf.Tensor3D,
  key: tf.Tensor3D,
  value: tf.Tensor3D,
  keyMask: tf.Tensor2D,
  { heads, pastLength }: AttentionAttributes,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [batchSize, queryCount, width] = query.shape;
    const keyCount = key.shape[1];
    const headSize = width / heads;
    const split = (t: tf.Tensor3D, length: number) => tf.transpose(tf.reshape(t, [batchSize, length, heads, headSize]), [0, 2, 1, 3]);
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

registerHostKernel<AttentionAttributes>({
  kernelName: FORWARD,
  inputNames: ['query', 'key', 'value', 'keyMask'],
  /** output (B, T, D), probabilities (B, H, T, S) */
  outputShapes: ([queryShape, keyShape], { heads }) => [queryShape!, [queryShape![0]!, heads, queryShape![1]!, keyShape![1]!]],
  compute: (inputs, outputs, [[batchSize, queryCount, width], [, keyCount]], { heads, pastLength }) => {
    simdKernels()!.call('attention_forward', { inputs, outputs, scalars: [batchSize!, queryCount!, keyCount!, width!, heads, pastLength] });
  },
});

registerHostKernel<AttentionAttributes>({
  kernelName: BACKWARD,
  inputNames: ['dy', 'query', 'key', 'value', 'probabilities'],
  /** dquery (B, T, D), dkey (B, S, D), dvalue (B, S, D) */
  outputShapes: ([dyShape, , keyShape]) => [dyShape!, keyShape!, keyShape!],
  compute: (inputs, outputs, [[batchSize, queryCount, width], , [, keyCount]], { heads }) => {
    simdKernels()!.call('attention_backward', { inputs, outputs, scratchFloats: keyCount!, scalars: [batchSize!, queryCount!, keyCount!, width!, heads] });
  },
});

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['query', 'key', 'value', 'keyMask'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attributes) => {
    const [query, key, value, keyMask, probabilities] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const { heads, pastLength } = attributes as unknown as AttentionAttributes;
    const [dQuery, dKey, dValue] = runHostKernel(BACKWARD, { dy, query, key, value, probabilities }, { heads, pastLength });
    return { query: () => dQuery!, key: () => dKey!, value: () => dValue!, keyMask: () => tf.zerosLike(keyMask) };
  },
});
