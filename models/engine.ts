/**
 * The tensor engine: which tfjs backend runs the math, chosen once per process.
 *
 * Order for `auto`: `@tensorflow/tfjs-node-gpu` when it is installed and sees a CUDA device, else WebGPU on a
 * real GPU adapter (tfjs's WebGPU backend over Dawn, npm `webgpu`: Vulkan on NVIDIA/AMD, Metal, D3D12; see
 * webgpu-device.ts), else `@tensorflow/tfjs-node` when installed, else WebAssembly (`@tensorflow/tfjs-backend-wasm`,
 * whose binaries ship inside the npm package: the embedded default), else the plain JavaScript `cpu` backend.
 * `POSTTRAIN_BACKEND` (or `options.backend`) forces one; a forced backend that cannot load is an error, never a
 * silent fallback. Forced `webgpu` also accepts a software renderer (Mesa's llvmpipe) when no GPU is found, and
 * says so in the log: that is how CI checks the WebGPU path on a machine without a GPU.
 *
 * On `webgpu` the fused host kernels (kernels/host-kernel.ts) do not run: every op takes its composed tfjs path.
 *
 * tfjs-node(-gpu) download libtensorflow in their install script, so they are optional: install one on GPU
 * machines (`npm install @tensorflow/tfjs-node-gpu@4.22.0`, same version as tfjs-core so both share one engine).
 *
 * On `wasm` and `cpu`, matrix products run on OpenBLAS when its addon was built (kernels/blas/): `choice.matmul`
 * and the log line say which path multiplies and, when it is not OpenBLAS, why. The same addon replaces
 * tfjs-cpu's transpose, slice and arithmetic kernels (kernels/native-cpu-kernels.ts).
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import './register-gradients.ts';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { ConfigError, PosttrainError } from '../runtime/errors.ts';
import { rootLogger } from '../runtime/logging.ts';
import { loadBlasAddon } from './kernels/blas/blas-addon.ts';
import { installBlasMatMul } from './kernels/blas/blas-matmul.ts';
import { installNativeCpuKernels } from './kernels/native-cpu-kernels.ts';
import { MAX_WASM_THREADS, registerThreadedWasm } from './wasm-threads.ts';
import { describeAdapter, gpuDeviceNodePresent, startWebGpuBackend, type WebGpuAdapter } from './webgpu-device.ts';

/** A backend the engine can run on. */
export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface EngineOptions {
  /** Which backend; `auto` (default) picks the fastest available. `POSTTRAIN_BACKEND` overrides this. */
  backend?: 'auto' | BackendName;
  /** Threads for the wasm backend's matrix kernels (default: the machine's cores, `POSTTRAIN_THREADS`). */
  threads?: number;
  /**
   * Parameters of the largest model this process trains, when known before the engine starts. On `auto`, a
   * model whose training would not fit the wasm heap (see `wasmHeapShortfall`) skips wasm for cpu (with
   * OpenBLAS and the native kernels when the addon is built), and the log line says so.
   */
  modelParameters?: number;
}

export interface EngineChoice {
  /** The backend now active. */
  backend: BackendName;
  /** Why it was chosen, in words (also logged). */
  reason: string;
  /** Threads the backend's kernels may use (1 for `cpu` and `webgpu`; the pool size for wasm). */
  threads: number;
  /** On `webgpu`: the adapter it runs on (vendor, device, driver, whether it is a software renderer). */
  adapter?: WebGpuAdapter;
  /** Which code multiplies matrices and why, e.g. "OpenBLAS 0.3.21 (pthread, 2 threads, Zen)" (also in `reason`). */
  matmul: string;
}

/** Every backend, in the order `auto` tries them. */
const BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

let chosen: Promise<EngineChoice> | undefined;
let chosenOptions: EngineOptions | undefined;
let resolved: EngineChoice | undefined;

/**
 * Picks and initialises the backend once per process; later calls return the first choice.
 *
 * @example
 * const engine = await initEngine();          // { backend: 'wasm', reason: '...', threads: 2 }
 * const forced = await initEngine({ backend: 'cpu' }); // same object: the engine is chosen once
 */
export function initEngine(options: EngineOptions = {}): Promise<EngineChoice> {
  if (chosen) {
    if (chosenOptions && JSON.stringify(chosenOptions) !== JSON.stringify(options)) {
      rootLogger().debug({ options, first: chosenOptions }, 'initEngine called again with other options; keeping the first choice');
    }
    return chosen;
  }
  chosenOptions = options;
  chosen = choose(options).then((choice) => {
    rootLogger().child({ component: 'engine' }).info(choice, `tensor engine: ${choice.backend} (${choice.reason})`);
    resolved = choice;
    return choice;
  });
  chosen.catch(() => {
    chosen = undefined;
    chosenOptions = undefined;
  });
  return chosen;
}

/** The engine chosen so far, or undefined before `initEngine` has finished. */
export function engineChoice(): EngineChoice | undefined {
  return resolved;
}

async function choose(options: EngineOptions): Promise<EngineChoice> {
  const requested = readRequested(options);
  const threads = readThreads(options);
  if (requested !== 'auto') {
    return withMatMul(await load(requested, threads, `forced by ${process.env.POSTTRAIN_BACKEND ? 'POSTTRAIN_BACKEND' : 'options.backend'}`, true), threads);
  }
  const skipped: string[] = [];
  const shortfall = wasmHeapShortfall(options.modelParameters);
  for (const backend of BACKENDS) {
    if (backend === 'wasm' && shortfall) {
      skipped.push(`wasm: ${shortfall}`);
      continue;
    }
    try {
      return withMatMul(await load(backend, threads, skipped.length ? `auto; ${skipped.join('; ')}` : 'auto', false), threads);
    } catch (error) {
      skipped.push(`${backend}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new PosttrainError('ENGINE_UNAVAILABLE', `no tensor backend could start: ${skipped.join('; ')}`, { path: 'engine.backend' });
}

/**
 * Puts OpenBLAS behind matrix products on wasm/cpu (with the requested thread count: OpenBLAS is not bound by
 * the wasm pool's cap) and says in the reason which path multiplies.
 */
function withMatMul(choice: Omit<EngineChoice, 'matmul'>, threads: number): EngineChoice {
  let matmul = choice.backend === 'webgpu' ? 'tfjs-webgpu shaders' : 'libtensorflow';
  if (choice.backend === 'wasm' || choice.backend === 'cpu') {
    const blas = installBlasMatMul(threads);
    matmul = blas.installed ? blas.description : `${choice.backend === 'wasm' ? 'tfjs-wasm XNNPACK' : 'tfjs-cpu'} (${blas.reason})`;
    // The same addon carries native transpose/slice/arithmetic for tfjs-cpu (kernels/native-cpu-kernels.ts).
    const addon = loadBlasAddon().addon;
    if (addon) installNativeCpuKernels(addon);
  }
  return { ...choice, reason: `${choice.reason}; matmul: ${matmul}`, matmul };
}

/** The wasm backend's heap: 32-bit addresses, at most 4 GiB (tfjs-wasm's `getHeapMax`). */
const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/**
 * Why a model of `parameters` float32 weights cannot be trained on wasm, or undefined when it can (or is not
 * known). Training holds about four copies of the weights on the heap: the policy, the frozen reference,
 * the gradients, and as much again in activations, temporaries and allocator slack; measured, SmolLM2-135M's
 * GRPO step (4 x 134.5M floats = 2.15 GB) ran out of the 4 GiB heap (bench/llama-step.ts), so the limit is
 * half the heap.
 *
 * @example
 * wasmHeapShortfall(134_515_008); // 'a model of 134.5M parameters needs ~2.2 GB for training ... over 2.1 GB ...'
 * wasmHeapShortfall(10_000_000);  // undefined
 */
export function wasmHeapShortfall(parameters: number | undefined): string | undefined {
  if (parameters === undefined) return undefined;
  const needed = parameters * 4 * 4;
  const limit = WASM_HEAP_BYTES / 2;
  if (needed <= limit) return undefined;
  const gigabytes = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  return `a model of ${(parameters / 1e6).toFixed(1)}M parameters needs ~${gigabytes(needed)} for training (weights, reference, gradients, activations), over the ${gigabytes(limit)} that fit the 4 GiB wasm heap`;
}

function readRequested(options: EngineOptions): 'auto' | BackendName {
  const fromEnvironment = process.env.POSTTRAIN_BACKEND;
  const value = fromEnvironment || options.backend || 'auto';
  if (value !== 'auto' && !BACKENDS.includes(value as BackendName)) {
    throw new ConfigError([
      { path: fromEnvironment ? 'POSTTRAIN_BACKEND' : 'engine.backend', message: `is '${value}'; allowed: auto, ${BACKENDS.join(', ')}` },
    ]);
  }
  return value as 'auto' | BackendName;
}

function readThreads(options: EngineOptions): number {
  const fromEnvironment = process.env.POSTTRAIN_THREADS;
  const value = fromEnvironment !== undefined && fromEnvironment !== '' ? Number(fromEnvironment) : options.threads ?? availableParallelism();
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError([{ path: fromEnvironment ? 'POSTTRAIN_THREADS' : 'engine.threads', message: `must be a positive integer, got ${value}` }]);
  }
  return value;
}

async function load(backend: BackendName, threads: number, reason: string, forced: boolean): Promise<Omit<EngineChoice, 'matmul'>> {
  switch (backend) {
    case 'tensorflow-gpu':
      return loadTensorflow('@tensorflow/tfjs-node-gpu', backend, reason, forced);
    case 'webgpu':
      return loadWebGpu(reason, forced);
    case 'tensorflow':
      return loadTensorflow('@tensorflow/tfjs-node', backend, reason, forced);
    case 'wasm':
      return loadWasm(threads, reason);
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
      return { backend, reason, threads: 1 };
  }
}

async function loadTensorflow(packageName: string, backend: BackendName, reason: string, forced: boolean): Promise<Omit<EngineChoice, 'matmul'>> {
  try {
    await import(packageName);
  } catch (error) {
    const notInstalled = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    const cause = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const message = notInstalled ? `${packageName} is not installed` : `${packageName} cannot load (${cause})`;
    if (forced) {
      throw new PosttrainError('ENGINE_BACKEND_UNAVAILABLE', `${message}; install it with \`npm install ${packageName}@${tf.version_core}\` or choose another backend`, {
        path: 'engine.backend',
        cause: error,
      });
    }
    throw new Error(message);
  }
  if (!tf.findBackend('tensorflow') && !tf.findBackendFactory('tensorflow')) {
    throw new PosttrainError(
      'ENGINE_BACKEND_UNAVAILABLE',
      `${packageName} loaded its own copy of @tensorflow/tfjs-core; install the version matching ours (${tf.version_core})`,
      { path: 'engine.backend' },
    );
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${packageName}: backend 'tensorflow' failed to initialise`);
  const usesGpu = Boolean((tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice);
  if (backend === 'tensorflow-gpu' && !usesGpu) throw new Error(`${packageName} loaded but sees no usable CUDA device`);
  return { backend, reason, threads: availableParallelism() };
}

/** Auto takes WebGPU only on a real GPU; forced, it also runs on a software renderer (tests, CI). */
async function loadWebGpu(reason: string, forced: boolean): Promise<Omit<EngineChoice, 'matmul'>> {
  if (!forced && !gpuDeviceNodePresent()) throw new Error('no GPU device node (/dev/nvidiactl, /dev/kfd, /dev/dri/renderD*)');
  let adapter: WebGpuAdapter;
  try {
    adapter = await startWebGpuBackend({ allowSoftware: forced });
  } catch (error) {
    if (forced) throw error;
    throw new Error(error instanceof Error ? error.message.replace(/^webgpu: /, '') : String(error));
  }
  if (!(await tf.setBackend('webgpu'))) throw new PosttrainError('ENGINE_BACKEND_UNAVAILABLE', `webgpu: the backend failed to initialise on ${describeAdapter(adapter)}`, { path: 'engine.backend' });
  if (adapter.software) rootLogger().child({ component: 'engine' }).warn({ adapter }, 'webgpu runs on a software renderer: correct but slow, meant for tests');
  return { backend: 'webgpu', reason: `${reason}; adapter ${describeAdapter(adapter)}`, threads: 1, adapter };
}

async function loadWasm(threads: number, reason: string): Promise<Omit<EngineChoice, 'matmul'>> {
  const listenersBefore = processListeners();
  try {
    return await startWasm(threads, reason);
  } finally {
    removeListenersAddedSince(listenersBefore);
  }
}

type ProcessListeners = { uncaughtException: unknown[]; unhandledRejection: unknown[] };

function processListeners(): ProcessListeners {
  return { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
}

/**
 * Emscripten's Node glue installs process-wide `uncaughtException` / `unhandledRejection` handlers that rethrow
 * from inside its minified bundle, so every later crash anywhere in the program prints 50 kB of wasm glue code
 * instead of the real error. Node's defaults already crash on both; remove the copies.
 */
function removeListenersAddedSince(before: ProcessListeners): void {
  for (const listener of process.listeners('uncaughtException')) {
    if (!before.uncaughtException.includes(listener)) process.removeListener('uncaughtException', listener);
  }
  for (const listener of process.listeners('unhandledRejection')) {
    if (!before.unhandledRejection.includes(listener)) process.removeListener('unhandledRejection', listener);
  }
}

async function startWasm(threads: number, reason: string): Promise<Omit<EngineChoice, 'matmul'>> {
  const singleThreaded = tf.findBackendFactory('wasm');
  if (threads > 1) {
    try {
      registerThreadedWasm(threads);
      if (await tf.setBackend('wasm')) {
        return { backend: 'wasm', reason: `${reason}; threaded SIMD wasm`, threads: wasmBackend.getThreadsCount() };
      }
    } catch (error) {
      rootLogger().warn({ err: error }, 'threaded wasm failed to start; using single-threaded wasm');
    }
    tf.removeBackend('wasm');
    if (singleThreaded) tf.registerBackend('wasm', singleThreaded, 2);
  }
  wasmBackend.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  return {
    backend: 'wasm',
    reason: threads > 1 ? `${reason}; single-threaded SIMD wasm (threaded start failed)` : `${reason}; single-threaded SIMD wasm`,
    threads: 1,
  };
}

export { MAX_WASM_THREADS };
