/**
 * Row lookup `table[indices]` (embeddings, picking one row per sequence) whose gradient adds each output row's
 * gradient back into the row it was read from (a scatter-add).
 *
 * tfjs differentiates `gather` with `UnsortedSegmentSum`, a kernel the wasm backend does not have. On wasm/cpu
 * both directions are host kernels (a row copy and a scatter-add); elsewhere the gradient is the one-hot product
 * `oneHot(indices)^T @ dy`, which adds the gradient of every occurrence of a row, exactly the scatter-add.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsAvailable, registerHostKernel, runHostKernel } from '../kernels/host-kernel.ts';

const FORWARD = 'PosttrainGatherRows';
const BACKWARD = 'PosttrainScatterAddRows';

/**
 * (R, D) table, (M) int32 indices -> (M, D) rows.
 *
 * @example
 * const rows = gatherRows(tf.eye(3) as tf.Tensor2D, tf.tensor1d([2, 0], 'int32')); // [[0,0,1],[1,0,0]]
 */
export function gatherRows(table: tf.Tensor2D, indices: tf.Tensor1D): tf.Tensor2D {
  if (hostKernelsAvailable()) return runHostKernel(FORWARD, { table, indices }, { rowCount: table.shape[0] })[0] as tf.Tensor2D;
  return composedGatherRows(table, indices);
}

/** The same lookup from tfjs ops with a one-hot product as gradient (any backend). */
export function composedGatherRows(table: tf.Tensor2D, indices: tf.Tensor1D): tf.Tensor2D {
  const rowCount = table.shape[0];
  const lookup = tf.customGrad((...args) => {
    const [source, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    // Saved (not just captured) so that the indices outlive the forward pass's tidy scope.
    save([indices]);
    return {
      value: tf.gather(source, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        /** (R, M): 1 where the m-th lookup read row r */
        const scatter = tf.transpose(tf.cast(tf.oneHot(saved[0] as tf.Tensor1D, rowCount), 'float32'));
        return tf.matMul(scatter, dy as tf.Tensor2D);
      },
    };
  });
  return lookup(table) as tf.Tensor2D;
}

registerHostKernel<{ rowCount: number }>({
  kernelName: FORWARD,
  inputNames: ['table', 'indices'],
  outputShapes: ([tableShape, indexShape]) => [[indexShape![0]!, tableShape![1]!]],
  compute: ([table, indices], [out], [[rowCount, width]]) => {
    for (let m = 0; m < indices!.length; m++) {
      const row = indices![m]!;
      if (row < 0 || row >= rowCount!) throw new RangeError(`gatherRows: index ${row} outside [0, ${rowCount})`);
      out!.set(table!.subarray(row * width!, (row + 1) * width!), m * width!);
    }
  },
});

registerHostKernel<{ rowCount: number }>({
  kernelName: BACKWARD,
  inputNames: ['dy', 'indices'],
  outputShapes: ([dyShape], { rowCount }) => [[rowCount, dyShape![1]!]],
  compute: ([dy, indices], [out], [[, width]]) => {
    out!.fill(0);
    for (let m = 0; m < indices!.length; m++) {
      const target = indices![m]! * width!;
      const source = m * width!;
      for (let i = 0; i < width!; i++) out![target + i]! += dy![source + i]!;
    }
  },
});

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['indices'],
  gradFunc: (dy, saved, attributes) => {
    const [indices] = saved as [tf.Tensor1D];
    const rowCount = (attributes as unknown as { rowCount: number }).rowCount;
    return {
      table: () => runHostKernel(BACKWARD, { dy: dy as tf.Tensor, indices }, { rowCount })[0]!,
      indices: () => tf.zeros(indices.shape),
    };
  },
});
