/**
 * Loads `simd/kernels.wasm` (C compiled to WebAssembly SIMD, see simd/kernels.c) and calls its functions on
 * typed arrays: inputs are copied into the module's own memory, the function runs, outputs are copied back.
 * The copies cost ~0.1 ms per MB (memcpy speed) against kernels that do 10-100x more work; owning the memory
 * keeps the module independent of tfjs's heap layout and lets the same code serve the wasm and cpu backends.
 */
import { readFileSync } from 'node:fs';

type Values = Float32Array | Int32Array;

interface KernelExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  __heap_base: { value: number };
  [name: string]: unknown;
}

/** The WebAssembly JS API surface used here (the project's lib settings carry no DOM types). */
const webAssembly = (globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: KernelExports } };
}).WebAssembly;

const PAGE_BYTES = 65536;
const ALIGNMENT = 16;

/** One call: arrays in, arrays out (filled in place), optional float scratch space, then integer/float scalars. */
export interface KernelCall {
  inputs: Values[];
  outputs: Float32Array[];
  scratchFloats?: number;
  scalars: number[];
}

class SimdKernels {
  private readonly exports: KernelExports;
  private readonly heapBase: number;

  constructor(exports: KernelExports) {
    this.exports = exports;
    this.heapBase = exports.__heap_base.value;
  }

  /** Runs `name(input pointers..., output pointers..., [scratch pointer], scalars...)`. */
  call(name: string, { inputs, outputs, scratchFloats, scalars }: KernelCall): void {
    const arrays: { length: number }[] = [...inputs, ...outputs, ...(scratchFloats ? [{ length: scratchFloats }] : [])];
    const offsets: number[] = [];
    let end = align(this.heapBase);
    for (const array of arrays) {
      offsets.push(end);
      end = align(end + 4 * array.length);
    }
    const memory = this.exports.memory;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE_BYTES));
    const heap = memory.buffer;
    inputs.forEach((input, i) => {
      const view = input instanceof Int32Array ? new Int32Array(heap, offsets[i], input.length) : new Float32Array(heap, offsets[i], input.length);
      view.set(input);
    });
    (this.exports[name] as (...args: number[]) => void)(...offsets, ...scalars);
    outputs.forEach((output, i) => output.set(new Float32Array(heap, offsets[inputs.length + i], output.length)));
  }
}

function align(offset: number): number {
  return Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
}

let loaded: SimdKernels | null | undefined;

/** The kernel module, or undefined when this runtime cannot instantiate WebAssembly SIMD. */
export function simdKernels(): SimdKernels | undefined {
  if (loaded === undefined) {
    try {
      const bytes = readFileSync(new URL('./simd/kernels.wasm', import.meta.url));
      loaded = new SimdKernels(new webAssembly.Instance(new webAssembly.Module(bytes), {}).exports);
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
