/**
 * Fused kernels for the backends whose tensors live in memory JavaScript can read directly: `wasm` (the
 * WebAssembly heap) and `cpu` (typed arrays). They replace chains of 5-20 tfjs kernels (LayerNorm, GELU,
 * attention, embedding lookups) by one pass over the data, which on wasm is where most of a training step
 * went: tfjs-wasm runs element-wise kernels at 1-3 ns per element and per op, its `Erf` at ~25 ns, and its
 * batched matrix products (attention) on a scalar loop at ~1 GFLOP/s. The arithmetic runs in our own
 * WebAssembly SIMD module (simd/kernels.c); plain JavaScript loops measured no faster than tfjs here
 * (0.5-1.3 GFLOP/s, ~17 ns per Math.exp on this class of machine).
 *
 * A kernel is a pure function over Float32Array/Int32Array views: `outputShapes` says what to allocate,
 * `compute` fills every element of every output. On wasm the outputs are allocated on the heap first and the
 * views taken afterwards (an allocation may grow, and so move, the heap).
 */
import * as tf from '@tensorflow/tfjs-core';
import { simdKernels } from './simd-module.ts';

type Values = Float32Array | Int32Array;

export interface HostKernelDefinition<Attributes> {
  kernelName: string;
  /** Input names in the order `compute` receives them. */
  inputNames: readonly string[];
  outputShapes(inputShapes: number[][], attributes: Attributes): number[][];
  compute(inputs: Values[], outputs: Float32Array[], inputShapes: number[][], attributes: Attributes): void;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Values;
}

interface CpuBackendLike {
  data: { get(dataId: tf.DataId): { values: Values } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** Registers the kernel on `wasm` and `cpu`. Other backends never see it (callers fall back to composed ops). */
export function registerHostKernel<Attributes>(definition: HostKernelDefinition<Attributes>): void {
  const { kernelName, inputNames, outputShapes, compute } = definition;
  const infosOf = (inputs: tf.NamedTensorInfoMap) =>
    inputNames.map((name) => {
      const info = inputs[name];
      if (!info) throw new Error(`${kernelName}: missing input '${name}'`);
      return info;
    });

  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as WasmBackendLike;
      const infos = infosOf(inputs);
      const shapes = infos.map((info) => info.shape);
      const attributes = attrs as unknown as Attributes;
      const outputs = outputShapes(shapes, attributes).map((shape) => wasm.makeOutput(shape, 'float32'));
      compute(
        infos.map((info) => wasm.typedArrayFromHeap(info)),
        outputs.map((info) => wasm.typedArrayFromHeap(info) as Float32Array),
        shapes,
        attributes,
      );
      return outputs;
    },
  });

  tf.registerKernel({
    kernelName,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as unknown as CpuBackendLike;
      const infos = infosOf(inputs);
      const shapes = infos.map((info) => info.shape);
      const attributes = attrs as unknown as Attributes;
      const shapesOut = outputShapes(shapes, attributes);
      const outputs = shapesOut.map((shape) => new Float32Array(shape.reduce((size, dimension) => size * dimension, 1)));
      compute(
        infos.map((info) => cpu.data.get(info.dataId).values),
        outputs,
        shapes,
        attributes,
      );
      return outputs.map((values, i) => cpu.makeTensorInfo(shapesOut[i]!, 'float32', values));
    },
  });
}

/** Runs a registered host kernel and returns its outputs as tensors. */
export function runHostKernel(kernelName: string, inputs: tf.NamedTensorMap, attributes: Record<string, number> = {}): tf.Tensor[] {
  const result = tf.engine().runKernel(kernelName, inputs, attributes as unknown as tf.NamedAttrMap);
  return Array.isArray(result) ? result : [result];
}

let fusedKernelsEnabled = process.env.POSTTRAIN_FUSED_KERNELS !== '0';

/**
 * Turns the fused kernels off (or back on) process-wide; `POSTTRAIN_FUSED_KERNELS=0` starts with them off. The
 * composed tfjs path computes the same values; tests compare the two.
 */
export function setFusedKernels(enabled: boolean): void {
  fusedKernelsEnabled = enabled;
}

/** Whether ops should run host kernels: enabled, the SIMD module loads, and the backend is wasm or cpu. */
export function hostKernelsAvailable(): boolean {
  if (!fusedKernelsEnabled) return false;
  const name = tf.getBackend();
  return (name === 'wasm' || name === 'cpu') && simdKernels() !== undefined;
}
