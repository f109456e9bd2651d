/**
 * Layer normalisation over the last axis (Ba et al. 2016, Eq. 4), biased variance as in torch.nn.LayerNorm:
 *   y = (x - mean) * rstd * weight + bias,   rstd = 1 / sqrt(var + eps)
 * Backward (per row, xhat = (x - mean) * rstd, g = dy * weight):
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat));  dweight = sum_rows dy * xhat;  dbias = sum_rows dy
 *
 * On wasm/cpu this is one fused host kernel each way (the composed version is ~9 kernels forward and ~20
 * backward); elsewhere it is composed from tfjs ops and differentiated by tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsAvailable, registerHostKernel, runHostKernel } from '../kernels/host-kernel.ts';
import { simdKernels } from '../kernels/simd-module.ts';

const FORWARD = 'PosttrainLayerNorm';
const BACKWARD = 'PosttrainLayerNormGrad';

/**
 * (..., D) -> (..., D).
 *
 * @example
 * layerNorm(tf.tensor2d([[1, 2, 3]]), tf.ones([3]), tf.zeros([3])); // ~[[-1.22, 0, 1.22]]
 */
export function layerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D, epsilon = 1e-5): T {
  if (!hostKernelsAvailable()) return composedLayerNorm(x, weight, bias, epsilon);
  return tf.tidy(() => {
    const width = x.shape[x.rank - 1]!;
    const rows = tf.reshape(x, [-1, width]);
    const [y] = runHostKernel(FORWARD, { x: rows, weight, bias }, { epsilon });
    return tf.reshape(y!, x.shape) as T;
  });
}

/** The same function from tfjs ops (any backend). */
export function composedLayerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D, epsilon = 1e-5): T {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axis, true);
    const normalized = tf.mul(centered, tf.rsqrt(tf.add(variance, epsilon)));
    return tf.add(tf.mul(normalized, weight), bias) as T;
  });
}

registerHostKernel<{ epsilon: number }>({
  kernelName: FORWARD,
  inputNames: ['x', 'weight', 'bias'],
  /** y (N, D), mean (N), rstd (N) */
  outputShapes: ([xShape]) => [xShape!, [xShape![0]!], [xShape![0]!]],
  compute: (inputs, outputs, [[rowCount, width]], { epsilon }) => {
    simdKernels()!.call('layer_norm_forward', { inputs, outputs, scalars: [rowCount!, width!, epsilon] });
  },
});

registerHostKernel<Record<string, never>>({
  kernelName: BACKWARD,
  inputNames: ['dy', 'x', 'weight', 'mean', 'rstd'],
  /** dx (N, D), dweight (D), dbias (D) */
  outputShapes: ([dyShape, , weightShape]) => [dyShape!, weightShape!, weightShape!],
  compute: (inputs, outputs, [[rowCount, width]]) => {
    simdKernels()!.call('layer_norm_backward', { inputs, outputs, scalars: [rowCount!, width!] });
  },
});

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['x', 'weight'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved) => {
    const [x, weight, mean, rstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const [dx, dweight, dbias] = runHostKernel(BACKWARD, { dy, x, weight, mean, rstd });
    return { x: () => dx!, weight: () => dweight!, bias: () => dbias! };
  },
});
