/**
 * Multithreaded WebAssembly for tfjs in Node.
 *
 * `@tensorflow/tfjs-backend-wasm` ships a threaded SIMD binary (XNNPACK on a pthreadpool) but never uses it in
 * Node, for three reasons that this module works around at run time (node_modules stays untouched):
 *
 * 1. Its `WASM_HAS_MULTITHREAD_SUPPORT` flag answers `false` whenever `IS_NODE` (tfjs issue #3830).
 * 2. Its loader hands Emscripten a `blob:` URL for the pthread worker script and a `Blob` for the main script.
 *    Node's `worker_threads.Worker` cannot start from a blob URL, and the worker's `importScripts` shim reads
 *    files with `fs.readFileSync`, so a blob cannot be imported either. Here the worker script (the string the
 *    package exports) is written to a real file in the temp directory, and the main script is given as the path
 *    of the package's own `tfjs-backend-wasm-threaded-simd.js`.
 * 3. The C side sizes its thread pool as `min(requested, emscripten_num_logical_cores() / 2)` (it assumes
 *    hyper-threading), which is 1 on a 2-core machine. The `emscripten_num_logical_cores` import is replaced
 *    while the module is instantiated so that the requested count is honoured.
 *
 * Only XNNPACK's kernels (the non-transposed, batch-1 matrix multiply, convolutions) run on the pool; every
 * other kernel stays single-threaded. The pool holds 8 pre-started workers (compiled into the binary).
 */
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

/** The Emscripten module surface that `BackendWasm` expects (`module.tfjs`), plus what we touch. */
interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
  PThread?: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void }[] };
}

/** The slice of the WebAssembly JS API used here (the project's lib settings carry no DOM types). */
const webAssembly = (globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }> };
}).WebAssembly;

type EmscriptenFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** The most threads the binary can use without starting extra workers (its PTHREAD_POOL_SIZE). */
export const MAX_WASM_THREADS = 8;

/**
 * Replaces the registered `wasm` backend factory with one that loads the threaded SIMD binary using `threads`
 * threads. Call before the `wasm` backend is first initialised.
 *
 * @example
 * registerThreadedWasm(2);
 * await tf.setBackend('wasm');
 */
export function registerThreadedWasm(threads: number): void {
  const count = Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(threads)));
  const folder = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScript = join(folder, 'tfjs-backend-wasm-threaded-simd.js');
  const binaryPath = join(folder, 'tfjs-backend-wasm-threaded-simd.wasm');
  const workerScript = writeWorkerScript(folder);
  const factory = require(mainScript) as EmscriptenFactory;

  setThreadsCount(count);
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const module = await factory({
        locateFile: (path: string) => (path.endsWith('.worker.js') ? workerScript : join(folder, path)),
        mainScriptUrlOrBlob: mainScript,
        instantiateWasm: (imports: { env: Record<string, unknown> }, receiveInstance: (instance: unknown, module: unknown) => void) => {
          // backend.cc halves this number (it assumes two hardware threads per core) before capping the pool.
          imports.env.emscripten_num_logical_cores = () => 2 * count;
          webAssembly.instantiate(readFileSync(binaryPath), imports).then((result) => receiveInstance(result.instance, result.module));
          return {};
        },
      });
      module.tfjs = {
        init: module.cwrap('init', null, []),
        initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: module.cwrap('get_threads_count', 'number', []),
        registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: module.cwrap('dispose_data', null, ['number']),
        dispose: module.cwrap('dispose', null, []),
      };
      const backend = new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
      // The pool's pthreads live for the whole process; Emscripten keeps their workers ref'd, which would stop
      // Node from exiting when the program is done. Unref them (Node ends them at exit).
      for (const worker of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])]) worker.unref();
      return backend;
    },
    2,
  );
}

/**
 * The package exports the worker as a JavaScript string inside a template literal, where `"\n"` escapes have
 * become real newlines; tfjs re-escapes them before making its blob, and so do we.
 */
function writeWorkerScript(folder: string): string {
  const { wasmWorkerContents } = require(join(folder, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  const source = wasmWorkerContents.replace(/\n/g, '\\n');
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const directory = join(tmpdir(), 'posttrain-wasm');
  const path = join(directory, `tfjs-threaded-worker-${digest}.cjs`);
  if (!existsSync(path)) {
    mkdirSync(directory, { recursive: true });
    // Write-then-rename: parallel processes (test workers) must never see a half-written script.
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, source);
    renameSync(partial, path);
  }
  return path;
}
