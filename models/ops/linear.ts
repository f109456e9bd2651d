/**
 * A dense layer `x @ W + b` whose backward pass runs on the fast matrix-multiply path of every backend.
 *
 * Why a custom gradient: tfjs differentiates `matMul` into `matMul(dy, W, false, true)` and
 * `matMul(x, dy, true, false)`. The wasm backend sends any transposed or batched product to a naive triple loop
 * (about 1 GFLOP/s here) and only plain 2-D products to XNNPACK (10-25 GFLOP/s). Transposing explicitly (a cheap
 * copy) keeps all three products of a training step on XNNPACK. With OpenBLAS behind matMul (kernels/blas/)
 * transposed operands cost nothing, so the products take the transpose flags and no copy is made. The bias
 * gradient (a column sum) is a SIMD host kernel on wasm/cpu: tfjs-wasm reduces only along the innermost axis, so
 * `sum(dy, 0)` transposes first.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../register-gradients.ts';
import { blasMatMulActive } from '../kernels/blas/blas-matmul.ts';
import { hostKernelsAvailable, registerHostKernel, runHostKernel } from '../kernels/host-kernel.ts';
import { simdKernels } from '../kernels/simd-module.ts';

/**
 * (N, in) x (in, out) + (out) -> (N, out), with the bias fused into the product.
 *
 * @example
 * const y = linear(tf.ones([4, 8]), tf.zeros([8, 2]), tf.zeros([2])); // (4, 2)
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  return linearWithGradient(x, weight, bias) as tf.Tensor2D;
}

const linearWithGradient = tf.customGrad((...args) => {
  const [x, weight, bias, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, weight]);
  return {
    value: tf.fused.matMul({ a: x, b: weight, bias }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedX, savedWeight] = saved as [tf.Tensor2D, tf.Tensor2D];
      const outputGradient = dy as tf.Tensor2D;
      if (blasMatMulActive()) {
        return [
          /** (N, in) */ tf.matMul(outputGradient, savedWeight, false, true),
          /** (in, out) */ tf.matMul(savedX, outputGradient, true, false),
          /** (out) */ columnSum(outputGradient),
        ];
      }
      return [
        /** (N, in) */ tf.matMul(outputGradient, tf.transpose(savedWeight)),
        /** (in, out) */ tf.matMul(tf.transpose(savedX), outputGradient),
        /** (out) */ columnSum(outputGradient),
      ];
    },
  };
});

const COLUMN_SUM = 'PosttrainColumnSum';

/** (N, C) -> (C): sum over rows. */
function columnSum(x: tf.Tensor2D): tf.Tensor1D {
  if (!hostKernelsAvailable()) return tf.sum(x, 0);
  return runHostKernel(COLUMN_SUM, { x })[0] as tf.Tensor1D;
}

registerHostKernel<Record<string, never>>({
  kernelName: COLUMN_SUM,
  inputNames: ['x'],
  outputShapes: ([[, columns]]) => [[columns!]],
  compute: (inputs, outputs, [[rows, columns]]) => {
    simdKernels()!.call('column_sum', { inputs, outputs, scalars: [rows!, columns!] });
  },
});

/**
 * (N, in) x (in, out) -> (N, out) without a bias, with the same transposed-operand-free backward as `linear`.
 *
 * @example
 * const y = linearNoBias(tf.ones([4, 8]), tf.zeros([8, 2])); // (4, 2)
 */
export function linearNoBias(x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D {
  return linearNoBiasWithGradient(x, weight) as tf.Tensor2D;
}

const linearNoBiasWithGradient = tf.customGrad((...args) => {
  const [x, weight, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, weight]);
  return {
    value: tf.matMul(x, weight),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedX, savedWeight] = saved as [tf.Tensor2D, tf.Tensor2D];
      // As in `linear`: OpenBLAS takes the transposes as flags, tfjs's kernels need the transposed copies.
      if (blasMatMulActive()) return [tf.matMul(dy as tf.Tensor2D, savedWeight, false, true), tf.matMul(savedX, dy as tf.Tensor2D, true, false)];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(savedWeight)), tf.matMul(tf.transpose(savedX), dy as tf.Tensor2D)];
    },
  };
});
