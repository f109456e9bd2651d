/**
 * Matrix products on OpenBLAS for the `wasm` and `cpu` backends: tfjs's `BatchMatMul` and `_FusedMatMul` kernels
 * are replaced by ones that call `cblas_sgemm` (through the native addon, blas-addon.ts) on the tensors' own
 * memory. tfjs-wasm multiplies with XNNPACK only when neither operand is transposed and the batch is 1 (36-44
 * GFLOP/s on 2 threads at SmolLM2's shapes) and with a scalar loop otherwise (~1 GFLOP/s); OpenBLAS runs every
 * case, transposes included, at 100-145 GFLOP/s on one thread here (bench/matmul.ts). So with BLAS a dense
 * layer's backward needs no transpose copies (ops/linear.ts asks `blasMatMulActive()`).
 *
 * Cases the addon does not cover (non-float32 operands, a fused activation other than `linear`, a bias that is
 * not one row of n values, batch shapes that broadcast in more than one operand, empty tensors) go to the
 * backend's own kernel, which also runs everything while `setBlasMatMul(false)` is in force.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadBlasAddon, type BlasAddon } from './blas-addon.ts';

type Backend = 'wasm' | 'cpu';
const BACKENDS: readonly Backend[] = ['wasm', 'cpu'];
const KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface CpuBackendLike {
  data: { get(dataId: tf.DataId): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** One product as the addon takes it: C (batch, m, n) = op(A) op(B) [+ bias]. */
interface Product {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  bias: tf.TensorInfo | undefined;
  transposeA: boolean;
  transposeB: boolean;
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
  outShape: number[];
}

let addon: BlasAddon | undefined;
let enabled = true;

/** What `installBlasMatMul` did: OpenBLAS now multiplies (with its description), or why not. */
export type BlasInstall = { installed: true; description: string } | { installed: false; reason: string };

/**
 * Loads the addon and, when it loads, puts OpenBLAS behind `BatchMatMul` and `_FusedMatMul` on wasm and cpu
 * with `threads` threads. Called by `initEngine`; safe to call again (only the thread count changes).
 *
 * @example
 * installBlasMatMul(2); // { installed: true, description: 'OpenBLAS 0.3.21 (pthread, 2 threads, Zen)' }
 *                       // or { installed: false, reason: 'addon not built: libopenblas not found ...' }
 */
export function installBlasMatMul(threads: number): BlasInstall {
  const availability = loadBlasAddon();
  if (!availability.addon) return { installed: false, reason: availability.reason };
  availability.addon.setThreads(threads);
  if (!addon) {
    addon = availability.addon;
    for (const backendName of BACKENDS) for (const kernelName of KERNELS) replaceKernel(kernelName, backendName);
  }
  const info = availability.addon.info();
  const version = /OpenBLAS\s+(\S+)/.exec(info.config)?.[1] ?? info.config;
  return { installed: true, description: `OpenBLAS ${version} (${info.parallel}, ${info.threads} thread${info.threads === 1 ? '' : 's'}, ${info.corename})` };
}

/**
 * Sends matrix products to OpenBLAS (true, the default once installed) or to the backend's own kernels
 * (false), process-wide. Both compute the same values; tests and bench/matmul.ts compare the two.
 */
export function setBlasMatMul(on: boolean): void {
  enabled = on;
}

/** Whether a matrix product run now goes to OpenBLAS (addon installed, enabled, backend wasm or cpu). */
export function blasMatMulActive(): boolean {
  if (!addon || !enabled) return false;
  const name = tf.getBackend();
  return name === 'wasm' || name === 'cpu';
}

function replaceKernel(kernelName: string, backendName: Backend): void {
  const original = tf.getKernel(kernelName, backendName);
  if (!original) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const product = enabled ? productOf(kernelName, args.inputs, args.attrs as unknown as tf.NamedAttrMap) : undefined;
      if (!product) return original.kernelFunc(args);
      return backendName === 'wasm' ? runOnWasm(product, args.backend as unknown as WasmBackendLike) : runOnCpu(product, args.backend as unknown as CpuBackendLike);
    },
  });
}

/** The product the kernel asks for, or undefined when the backend's own kernel should run it. */
function productOf(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): Product | undefined {
  const { a, b, bias, preluActivationWeights } = inputs;
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  if (kernelName === tf._FusedMatMul && ((attrs.activation ?? 'linear') !== 'linear' || preluActivationWeights)) return undefined;
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = a.shape[transposeA ? aRank - 1 : aRank - 2]!;
  const k = a.shape[transposeA ? aRank - 2 : aRank - 1]!;
  const kB = b.shape[transposeB ? bRank - 1 : bRank - 2]!;
  const n = b.shape[transposeB ? bRank - 2 : bRank - 1]!;
  if (k !== kB) return undefined; // the backend's kernel raises tfjs's own error
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined;
  }
  const batch = tf.util.sizeFromShape(outer);
  // One flat batch index serves both operands only when each has the whole batch or a single matrix.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return undefined;
  if (batch * m * n * k === 0) return undefined;
  if (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== n || bias.shape.slice(0, -1).some((size) => size !== 1))) return undefined;
  return {
    a,
    b,
    bias,
    transposeA,
    transposeB,
    batch,
    m,
    n,
    k,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
    outShape: [...outer, m, n],
  };
}

function runOnWasm(product: Product, backend: WasmBackendLike): tf.TensorInfo {
  const out = backend.makeOutput(product.outShape, 'float32');
  // Views are taken after the allocation: growing the heap may have replaced its buffer.
  const view = (info: tf.TensorInfo) => backend.typedArrayFromHeap(info);
  gemm(product, view(product.a), view(product.b), view(out), product.bias ? view(product.bias) : null);
  return out;
}

function runOnCpu(product: Product, backend: CpuBackendLike): tf.TensorInfo {
  const values = new Float32Array(tf.util.sizeFromShape(product.outShape));
  const view = (info: tf.TensorInfo) => backend.data.get(info.dataId).values;
  gemm(product, view(product.a), view(product.b), values, product.bias ? view(product.bias) : null);
  return backend.makeTensorInfo(product.outShape, 'float32', values);
}

function gemm(product: Product, a: Float32Array, b: Float32Array, c: Float32Array, bias: Float32Array | null): void {
  const { batch, m, n, k, transposeA, transposeB, strideA, strideB } = product;
  addon!.gemm(a, b, c, bias, batch, m, n, k, transposeA, transposeB, strideA, strideB);
}
