/**
 * Row lookup `table[indices]` (embeddings, picking one row per sequence) whose gradient is a one-hot matrix
 * product instead of tfjs's `UnsortedSegmentSum`, a kernel the wasm backend does not have. The product
 * `oneHot(indices)^T @ dy` adds the gradient of every occurrence of a row, which is exactly the scatter-add.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * (R, D) table, (M) int32 indices -> (M, D) rows.
 *
 * @example
 * const rows = gatherRows(tf.eye(3) as tf.Tensor2D, tf.tensor1d([2, 0], 'int32')); // [[0,0,1],[1,0,0]]
 */
export function gatherRows(table: tf.Tensor2D, indices: tf.Tensor1D): tf.Tensor2D {
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
