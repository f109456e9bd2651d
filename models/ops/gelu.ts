/**
 * The exact GELU, `x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))` (Hendrycks & Gimpel 2016, Eq. 1), as torch's
 * `F.gelu` computes it by default (not the tanh approximation). Derivative: Phi(x) + x * phi(x).
 *
 * On wasm/cpu it is one fused SIMD kernel each way (simd/kernels.c: Phi from a Chebyshev erfc with relative
 * error < 1.2e-7, so the negative tail keeps full precision); tfjs-wasm's own `Erf` costs ~25 ns per element.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsAvailable, registerHostKernel, runHostKernel } from '../kernels/host-kernel.ts';
import { simdKernels } from '../kernels/simd-module.ts';

const FORWARD = 'PosttrainGelu';
const BACKWARD = 'PosttrainGeluGrad';
/**
 * @example
 * gelu(tf.tensor1d([0, 1])); // [0, 0.8413]
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (!hostKernelsAvailable()) return composedGelu(x);
  return runHostKernel(FORWARD, { x })[0] as T;
}

/** The same function from tfjs ops (any backend). */
export function composedGelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T);
}

registerHostKernel<Record<string, never>>({
  kernelName: FORWARD,
  inputNames: ['x'],
  outputShapes: ([shape]) => [shape!],
  compute: (inputs, outputs) => {
    simdKernels()!.call('gelu_forward', { inputs, outputs, scalars: [inputs[0]!.length] });
  },
});

registerHostKernel<Record<string, never>>({
  kernelName: BACKWARD,
  inputNames: ['dy', 'x'],
  outputShapes: ([shape]) => [shape!],
  compute: (inputs, outputs) => {
    simdKernels()!.call('gelu_backward', { inputs, outputs, scalars: [inputs[0]!.length] });
  },
});

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => runHostKernel(BACKWARD, { dy: dy as tf.Tensor, x })[0]! };
  },
});
