/**
 * Lays grouped-query projections out as the fused attention kernel reads them: query (R, Hq*d) and key | value
 * (R, 2*Hkv*d) become qkv (R, 3*Hq*d), each kv head repeated for the G = Hq/Hkv query heads it serves
 * (transformers' `repeat_kv`: query head h reads kv head floor(h / G)). The gradient copies dq back and sums
 * each kv head's G copies.
 *
 * Host kernels (wasm/cpu) built from row copies: tfjs-wasm's Tile (broadcastTo) took ~1 us per element here,
 * five times the attention itself.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfCore from '@tensorflow/tfjs-core';
import { registerHostKernel, runHostKernel } from '../kernels/host-kernel.ts';

const GROUPED_QKV = 'PosttrainGroupedQkv';
const GROUPED_QKV_GRAD = 'PosttrainGroupedQkvGrad';
const REPEAT_KEY_VALUES = 'PosttrainRepeatKeyValues';

interface Heads {
  heads: number;
  kvHeads: number;
}

/**
 * (B, T, Hq*d) query and (B, T, 2*Hkv*d) key | value -> (B, T, 3*Hq*d) query | key | value. wasm/cpu only.
 *
 * @example
 * const qkv = groupedQkv(q, kv, { heads: 14, kvHeads: 2 }); // then causalAttention(qkv, keyMask, { heads: 14 })
 */
export function groupedQkv(query: tf.Tensor3D, keyValues: tf.Tensor3D, { heads, kvHeads }: Heads): tf.Tensor3D {
  return runHostKernel(GROUPED_QKV, { query, keyValues }, { heads, kvHeads })[0] as tf.Tensor3D;
}

/**
 * (B, P, 2*Hkv*d) -> (B, P, 2*Hq*d), for a KV cache (inference: no gradient). wasm/cpu only.
 *
 * @example
 * const cache = repeatKeyValues(cachedKeyValues, { heads: 14, kvHeads: 2 }); // the cache causalAttention reads
 */
export function repeatKeyValues(keyValues: tf.Tensor3D, { heads, kvHeads }: Heads): tf.Tensor3D {
  return runHostKernel(REPEAT_KEY_VALUES, { keyValues }, { heads, kvHeads })[0] as tf.Tensor3D;
}

/** Copies (rows, 2*Hkv*d) into `out` at column `offset` of rows `stride` wide, kv heads repeated G times. */
function spread(source: Float32Array, rows: number, kvWidth: number, heads: number, kvHeads: number, out: Float32Array, stride: number, offset: number): void {
  const headDim = kvWidth / kvHeads;
  const group = heads / kvHeads;
  const width = heads * headDim;
  for (let r = 0; r < rows; r++) {
    for (let half = 0; half < 2; half++) {
      const sourceRow = r * 2 * kvWidth + half * kvWidth;
      const targetRow = r * stride + offset + half * width;
      for (let k = 0; k < kvHeads; k++) {
        const head = source.subarray(sourceRow + k * headDim, sourceRow + (k + 1) * headDim);
        for (let g = 0; g < group; g++) out.set(head, targetRow + (k * group + g) * headDim);
      }
    }
  }
}

registerHostKernel<Heads>({
  kernelName: GROUPED_QKV,
  inputNames: ['query', 'keyValues'],
  outputShapes: ([queryShape]) => [[queryShape![0]!, queryShape![1]!, 3 * queryShape![2]!]],
  compute: ([query, keyValues], [out], [[batchSize, length, width], [, , kvWidth2]], { heads, kvHeads }) => {
    const rows = batchSize! * length!;
    for (let r = 0; r < rows; r++) out!.set((query as Float32Array).subarray(r * width!, (r + 1) * width!), r * 3 * width!);
    spread(keyValues as Float32Array, rows, kvWidth2! / 2, heads, kvHeads, out!, 3 * width!, width!);
  },
});

registerHostKernel<Heads>({
  kernelName: REPEAT_KEY_VALUES,
  inputNames: ['keyValues'],
  outputShapes: ([shape], { heads, kvHeads }) => [[shape![0]!, shape![1]!, (shape![2]! / kvHeads) * heads]],
  compute: ([keyValues], [out], [[batchSize, length, kvWidth2]], { heads, kvHeads }) => {
    const width = (kvWidth2! / kvHeads) * heads;
    spread(keyValues as Float32Array, batchSize! * length!, kvWidth2! / 2, heads, kvHeads, out!, width, 0);
  },
});

registerHostKernel<Heads>({
  kernelName: GROUPED_QKV_GRAD,
  inputNames: ['dy', 'keyValues'],
  /** dquery (B, T, Hq*d), dkeyValues (B, T, 2*Hkv*d) */
  outputShapes: ([dyShape, keyValuesShape]) => [[dyShape![0]!, dyShape![1]!, dyShape![2]! / 3], keyValuesShape!],
  compute: ([dy], [dQuery, dKeyValues], [[batchSize, length, width3], [, , kvWidth2]], { heads, kvHeads }) => {
    const rows = batchSize! * length!;
    const width = width3! / 3;
    const kvWidth = kvWidth2! / 2;
    const headDim = width / heads;
    const group = heads / kvHeads;
    dKeyValues!.fill(0);
    for (let r = 0; r < rows; r++) {
      dQuery!.set((dy as Float32Array).subarray(r * width3!, r * width3! + width), r * width);
      for (let half = 0; half < 2; half++) {
        const sourceRow = r * width3! + width + half * width;
        const targetRow = r * kvWidth2! + half * kvWidth;
        for (let k = 0; k < kvHeads; k++) {
          for (let g = 0; g < group; g++) {
            const source = sourceRow + (k * group + g) * headDim;
            const target = targetRow + k * headDim;
            for (let i = 0; i < headDim; i++) dKeyValues![target + i]! += dy![source + i]!;
          }
        }
      }
    }
  },
});

tfCore.registerGradient({
  kernelName: GROUPED_QKV,
  inputsToSave: ['keyValues'],
  gradFunc: (dy, saved, attributes) => {
    const [keyValues] = saved as [tf.Tensor];
    const { heads, kvHeads } = attributes as unknown as Heads;
    const [dQuery, dKeyValues] = runHostKernel(GROUPED_QKV_GRAD, { dy: dy as tf.Tensor, keyValues: keyValues! }, { heads, kvHeads });
    return { query: () => dQuery!, keyValues: () => dKeyValues! };
  },
});
