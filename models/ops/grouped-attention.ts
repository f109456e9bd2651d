/**
 * Causal scaled dot-product attention (Vaswani et al. 2017, Eq. 1) with grouped-query heads (Ainslie et al.
 * 2023): Hq query heads share Hkv key/value heads, query head h reading kv head floor(h / (Hq / Hkv)), as
 * transformers' `repeat_kv` does. With Hkv = Hq it is plain multi-head attention.
 *
 *   P = softmax(q k^T / sqrt(d) + bias),  y = P v
 *
 * `bias` is 0 where query i may see key j and MASKED_SCORE elsewhere (causal + key padding), built by
 * `attentionBias`. A query that sees no key (a left-pad slot) then attends uniformly instead of producing NaN;
 * its output is never used. Keys are the P cached slots followed by the T new ones.
 *
 * Composed from tfjs ops (any backend, differentiated by tfjs); queries are regrouped to (B*Hkv, G*T, d) so
 * each kv head is one batched product, with no copies of keys and values. On wasm/cpu the decoder runs the same
 * function as one SIMD kernel (fused-grouped-attention.ts); `npm run bench -- hf-attention` compares the two.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MASKED_SCORE } from './attention.ts';

/**
 * @param query (B, T, Hq*d) new queries, heads side by side
 * @param key (B, S, Hkv*d), value (B, S, Hkv*d) every key and value (cached ones first), S = P + T
 * @param bias (B, 1, T, S) additive mask from `attentionBias`
 * @returns (B, T, Hq*d)
 *
 * @example
 * const y = groupedAttention(q, k, v, tf.tensor4d(attentionBias(mask, B, 0, T, T), [B, 1, T, T]), { heads: 6, kvHeads: 2 });
 */
export function groupedAttention(
  query: tf.Tensor3D,
  key: tf.Tensor3D,
  value: tf.Tensor3D,
  bias: tf.Tensor4D,
  { heads, kvHeads }: { heads: number; kvHeads: number },
): tf.Tensor3D {
  const [batchSize, queryCount, queryWidth] = query.shape;
  const keyCount = key.shape[1];
  const headDim = queryWidth / heads;
  const group = heads / kvHeads;
  if (!Number.isInteger(headDim) || !Number.isInteger(group) || key.shape[2] !== kvHeads * headDim || value.shape[2] !== kvHeads * headDim) {
    throw new Error(`groupedAttention: query (${query.shape}) / key (${key.shape}) / value (${value.shape}) do not fit ${heads} query and ${kvHeads} kv heads`);
  }
  return tf.tidy(() => {
    /** (B*Hkv, G*T, d): query head h = kv * G + g */
    const queries = tf.reshape(tf.transpose(tf.reshape(query, [batchSize, queryCount, kvHeads, group, headDim]), [0, 2, 3, 1, 4]), [batchSize * kvHeads, group * queryCount, headDim]);
    /** (B*Hkv, S, d) */
    const byKvHead = (t: tf.Tensor3D) => tf.reshape(tf.transpose(tf.reshape(t, [batchSize, keyCount, kvHeads, headDim]), [0, 2, 1, 3]), [batchSize * kvHeads, keyCount, headDim]);
    /** (B, Hq, T, S) */
    const scores = tf.add(tf.reshape(tf.mul(tf.matMul(queries, byKvHead(key), false, true), 1 / Math.sqrt(headDim)), [batchSize, heads, queryCount, keyCount]), bias);
    const probabilities = tf.reshape(tf.softmax(scores), [batchSize * kvHeads, group * queryCount, keyCount]);
    /** (B*Hkv, G*T, d) */
    const attended = tf.matMul(probabilities, byKvHead(value));
    return tf.reshape(tf.transpose(tf.reshape(attended, [batchSize, kvHeads, group, queryCount, headDim]), [0, 3, 1, 2, 4]), [batchSize, queryCount, queryWidth]) as tf.Tensor3D;
  });
}

/**
 * The additive mask of `groupedAttention`: query i (slot P + i) sees key j when j <= P + i and key j is real.
 * @param keyMask (B, keyStride) 1 for real key slots; the first P + T of each row are read
 * @returns (B, 1, T, P + T) row-major: 0 where allowed, MASKED_SCORE elsewhere
 *
 * @example
 * attentionBias([0, 1, 1], 1, 0, 3, 3); // rows [M, M, M], [M, 0, M], [M, 0, 0] with M = MASKED_SCORE
 */
export function attentionBias(keyMask: ArrayLike<number>, batchSize: number, pastLength: number, queryCount: number, keyStride: number): Float32Array {
  const keyCount = pastLength + queryCount;
  const bias = new Float32Array(batchSize * queryCount * keyCount);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < queryCount; i++) {
      const row = (b * queryCount + i) * keyCount;
      for (let j = 0; j < keyCount; j++) bias[row + j] = j <= pastLength + i && keyMask[b * keyStride + j] !== 0 ? 0 : MASKED_SCORE;
    }
  }
  return bias;
}

