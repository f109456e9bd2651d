/**
 * tfjs-cpu kernels replaced by native ones from the OpenBLAS addon (kernels/blas/native/tensor_kernels.cc):
 * `Transpose`, `Slice`, `SplitV`, the float32 arithmetic `Add`, `Sub`, `Multiply`, `RealDiv`, `Neg`, `Square`,
 * `Sigmoid`, `Mean` over trailing axes (RMSNorm's), `Concat`, and the transpose inside `Sum` (gradients of broadcast
 * operands reduce over rows: tfjs-cpu moves those axes innermost with its own JavaScript transpose).
 *
 * tfjs-cpu runs these in JavaScript and, whenever an operand broadcasts or a slice is not one contiguous run,
 * through a per-element index computation (`locToIndex` / `indexToLoc`): 100-200 ns per element. A profile of
 * one GRPO step at SmolLM2-135M's shapes (bench/llama-step.ts --profile) had Sub, Multiply, Transpose and SplitV
 * as the four slowest kernels, ahead of the matrix products: transposing the tied 49152 x 576 embedding, the
 * rotary embedding's halves and broadcast products, and log-softmax over (rows, 49152). The native versions
 * walk the output once with strides (a tiled inner loop for transposes).
 *
 * Only the `cpu` backend is changed: tfjs-wasm's own kernels for these are already native. Cases outside what
 * the native code covers (other dtypes, contiguous slices that tfjs serves without a copy, ranks over 8) run
 * tfjs's kernel, which also runs everything while `setNativeCpuKernels(false)` is in force.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BlasAddon } from './blas/blas-addon.ts';

type Values = Float32Array | Int32Array;

interface CpuBackendLike {
  data: { get(dataId: tf.DataId): { values: Values } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Values): tf.TensorInfo;
}

const BINARY: Record<string, 0 | 1 | 2 | 3> = { [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3 };
const UNARY: Record<string, 0 | 1 | 2> = { [tf.Neg]: 0, [tf.Square]: 1, [tf.Sigmoid]: 2 };
const MAX_RANK = 8;

let addon: BlasAddon | undefined;
let enabled = true;

/**
 * Puts the native kernels behind tfjs-cpu's (once per process; later calls do nothing). Called by the engine
 * when the addon loads.
 *
 * @example
 * const blas = loadBlasAddon();
 * if (blas.addon) installNativeCpuKernels(blas.addon);
 */
export function installNativeCpuKernels(loaded: BlasAddon): void {
  if (addon) return;
  addon = loaded;
  for (const kernelName of Object.keys(BINARY)) replace(kernelName, binary(BINARY[kernelName]!));
  for (const kernelName of Object.keys(UNARY)) replace(kernelName, unary(UNARY[kernelName]!));
  replace(tf.Mean, mean);
  replace(tf.Sum, sum);
  replace(tf.Concat, concat);
  replace(tf.Transpose, transpose);
  replace(tf.Slice, slice);
  replace(tf.SplitV, splitV);
}

/** Native kernels (true, the default once installed) or tfjs-cpu's own (false); tests compare the two. */
export function setNativeCpuKernels(on: boolean): void {
  enabled = on;
}

/** A replacement returns undefined when tfjs's own kernel should run the call. */
type Replacement = (inputs: tf.NamedTensorInfoMap, attributes: tf.NamedAttrMap, backend: CpuBackendLike) => tf.TensorInfo | tf.TensorInfo[] | undefined;

function replace(kernelName: string, replacement: Replacement): void {
  const original = tf.getKernel(kernelName, 'cpu');
  if (!original) return;
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const result = enabled ? replacement(args.inputs, args.attrs as unknown as tf.NamedAttrMap, args.backend as unknown as CpuBackendLike) : undefined;
      return result ?? original.kernelFunc(args);
    },
  });
}

const valuesOf = (backend: CpuBackendLike, info: tf.TensorInfo) => backend.data.get(info.dataId).values;
/** float32 or int32 held in the typed array of its dtype (tfjs-cpu sometimes keeps other arrays, e.g. after casts). */
const fourByte = (backend: CpuBackendLike, info: tf.TensorInfo) => {
  const values = valuesOf(backend, info);
  return (info.dtype === 'float32' && values instanceof Float32Array) || (info.dtype === 'int32' && values instanceof Int32Array);
};
const allocate = (dtype: tf.DataType, size: number): Values => (dtype === 'int32' ? new Int32Array(size) : new Float32Array(size));

function binary(op: 0 | 1 | 2 | 3): Replacement {
  return ({ a, b }, _attributes, backend) => {
    if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || !fourByte(backend, a) || !fourByte(backend, b)) return undefined;
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (outShape.length > MAX_RANK) return undefined;
    const out = new Float32Array(tf.util.sizeFromShape(outShape));
    addon!.broadcastBinary(op, valuesOf(backend, a) as Float32Array, a.shape, valuesOf(backend, b) as Float32Array, b.shape, out, outShape);
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

function unary(op: 0 | 1 | 2): Replacement {
  return ({ x }, _attributes, backend) => {
    if (!x || x.dtype !== 'float32' || !fourByte(backend, x)) return undefined;
    const out = new Float32Array(tf.util.sizeFromShape(x.shape));
    addon!.unary(op, valuesOf(backend, x) as Float32Array, out);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

/** Mean over the trailing axes only (a row mean); other reductions run tfjs's kernel. */
const mean: Replacement = ({ x }, { axis, keepDims }, backend) => {
  if (!x || x.dtype !== 'float32' || !fourByte(backend, x) || x.shape.length === 0) return undefined;
  const axes = [...new Set(tf.util.parseAxisParam(axis as number | number[], x.shape))].sort((a, b) => a - b);
  const rank = x.shape.length;
  if (axes.some((value, i) => value !== rank - axes.length + i)) return undefined;
  const rows = tf.util.sizeFromShape(x.shape.slice(0, rank - axes.length));
  if (rows === 0 || tf.util.sizeFromShape(x.shape) === 0) return undefined;
  const out = new Float32Array(rows);
  addon!.meanRows(valuesOf(backend, x) as Float32Array, rows, out);
  const shape = keepDims ? x.shape.map((size, i) => (i >= rank - axes.length ? 1 : size)) : x.shape.slice(0, rank - axes.length);
  return backend.makeTensorInfo(shape, 'float32', out);
};

/**
 * Sum exactly as tfjs-cpu computes it (the reduced axes moved innermost, each output a float64 sum in order, stored
 * as float32), with the native transpose in place of tfjs-cpu's JavaScript one, which was most of its time.
 */
const sum: Replacement = ({ x }, { axis, keepDims }, backend) => {
  if (!x || x.dtype !== 'float32' || !fourByte(backend, x) || x.shape.length === 0 || x.shape.length > MAX_RANK || tf.util.sizeFromShape(x.shape) === 0) return undefined;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
  const permutation = tf.backend_util.getAxesPermutation(axes, rank);
  let values = valuesOf(backend, x) as Float32Array;
  let shape = x.shape;
  if (permutation != null) {
    const permuted = new Float32Array(values.length);
    addon!.transpose(values, x.shape, permutation, permuted);
    values = permuted;
    shape = permutation.map((dimension) => x.shape[dimension]!);
  }
  const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(shape, tf.backend_util.getInnerMostAxes(axes.length, rank));
  const reduceSize = tf.util.sizeFromShape(reduceShape);
  const out = new Float32Array(tf.util.sizeFromShape(outShape));
  for (let i = 0; i < out.length; i++) {
    const offset = i * reduceSize;
    let total = 0;
    for (let j = 0; j < reduceSize; j++) total += values[offset + j]!;
    out[i] = total;
  }
  return backend.makeTensorInfo(keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape, 'float32', out);
};

/** Concatenation as tfjs-cpu reduces it: each input is (outer, its inner size), laid side by side. */
const concat: Replacement = (inputs, { axis }, backend) => {
  const parts = Object.values(inputs).filter((info): info is tf.TensorInfo => info !== undefined);
  if (parts.length < 2 || parts.some((info) => !fourByte(backend, info) || info.dtype !== parts[0]!.dtype)) return undefined;
  const dimension = tf.util.parseAxisParam(axis as number, parts[0]!.shape)[0]!;
  const outShape = tf.backend_util.computeOutShape(parts.map((info) => info.shape), dimension);
  const rows = tf.util.sizeFromShape(outShape.slice(0, dimension));
  if (rows === 0 || tf.util.sizeFromShape(outShape) === 0 || parts.some((info) => tf.util.sizeFromShape(info.shape) === 0)) return undefined;
  const out = allocate(parts[0]!.dtype, tf.util.sizeFromShape(outShape));
  addon!.concatRows(parts.map((info) => valuesOf(backend, info)), rows, out);
  return backend.makeTensorInfo(outShape, parts[0]!.dtype, out);
};

const transpose: Replacement = ({ x }, { perm }, backend) => {
  if (!x || !fourByte(backend, x) || x.shape.length > MAX_RANK || x.shape.length < 2) return undefined;
  const order = perm as number[];
  const out = allocate(x.dtype, tf.util.sizeFromShape(x.shape));
  addon!.transpose(valuesOf(backend, x), x.shape, order, out);
  return backend.makeTensorInfo(order.map((axis) => x.shape[axis]!), x.dtype, out);
};

const slice: Replacement = ({ x }, { begin, size }, backend) => {
  if (!x || !fourByte(backend, x) || x.shape.length > MAX_RANK) return undefined;
  const [start, extent] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin as number[], size as number[]);
  if (tf.slice_util.isSliceContinous(x.shape, start, extent)) return undefined; // tfjs serves it as a view
  return sliceOf(backend, x, start, extent);
};

const splitV: Replacement = ({ x }, { numOrSizeSplits, axis }, backend) => {
  if (!x || !fourByte(backend, x) || x.shape.length > MAX_RANK) return undefined;
  const dimension = tf.util.parseAxisParam(axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits as number[] | number, dimension);
  const start = new Array<number>(x.shape.length).fill(0);
  const outputs: tf.TensorInfo[] = [];
  for (const part of sizes) {
    const extent = x.shape.slice();
    extent[dimension] = part;
    outputs.push(sliceOf(backend, x, start.slice(), extent));
    start[dimension]! += part;
  }
  return outputs;
};

function sliceOf(backend: CpuBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = allocate(x.dtype, tf.util.sizeFromShape(size));
  addon!.slice(valuesOf(backend, x), x.shape, begin, size, out);
  return backend.makeTensorInfo(size, x.dtype, out);
}
