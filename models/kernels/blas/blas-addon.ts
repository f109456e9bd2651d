/**
 * The OpenBLAS addon (native/blas_binding.cc), loaded once per process when it was built. `npm ci` builds it
 * where OpenBLAS is installed (native/build.mjs); where it is not, the build leaves its reason in
 * native/build/not-built.txt and `loadBlasAddon` reports that reason, so the engine's log line can say why
 * matrix products stay on tfjs. `POSTTRAIN_BLAS=0` keeps the addon unloaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the addon says about the OpenBLAS it runs on. */
export interface BlasInfo {
  /** `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64". */
  config: string;
  /** The CPU kernel set OpenBLAS picked at load time, e.g. "Zen", "Haswell", "SkylakeX". */
  corename: string;
  /** How OpenBLAS runs threads: "pthread", "openmp" or "sequential". */
  parallel: string;
  /** Threads OpenBLAS uses now. */
  threads: number;
}

/** The functions the addon exports. Every extent is checked against the arrays' lengths on the native side. */
export interface BlasAddon {
  /**
   * For i < batch: C_i (m, n) = op(A_i) (m, k) x op(B_i) (k, n) [+ bias (n) on every row], row-major, where
   * A_i starts at a[i * strideA], B_i at b[i * strideB] (a stride of 0 broadcasts), C_i at c[i * m * n].
   * op(X) is X, or X transposed when its flag is set (stored (k, m) for A, (n, k) for B). Runs on the arrays'
   * own memory (a WebAssembly heap included): nothing is copied.
   */
  gemm(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    bias: Float32Array | null,
    batch: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
    strideA: number,
    strideB: number,
  ): void;
  /**
   * Per row r of z = logits[r] / temperature (logits (rows, V), rows = targets.length): logProbs[r] =
   * log softmax(z)[targets[r]], logSumExp[r] = log sum_j exp(z_j), and when `entropy` is given H(softmax(z)).
   */
  tokenLogProbs(logits: Float32Array, targets: Int32Array, temperature: number, logProbs: Float32Array, entropy: Float32Array | null, logSumExp: Float32Array): void;
  /**
   * dLogits (rows, V) from the upstream gradients of `tokenLogProbs`' outputs (dEntropy needs `entropy`), using
   * the saved logSumExp: no (rows, V) intermediate is kept between the two calls.
   */
  tokenLogProbsGrad(
    logits: Float32Array,
    targets: Int32Array,
    temperature: number,
    logSumExp: Float32Array,
    entropy: Float32Array | null,
    dLogProbs: Float32Array,
    dEntropy: Float32Array | null,
    dLogits: Float32Array,
  ): void;
  /** out = x (of `shape`, 4-byte elements) with its axes permuted: out's axis k is x's axis perm[k]. */
  transpose(x: Float32Array | Int32Array, shape: number[], perm: number[], out: Float32Array | Int32Array): void;
  /** out = x[begin_k : begin_k + size_k for each axis k] (4-byte elements). */
  slice(x: Float32Array | Int32Array, shape: number[], begin: number[], size: number[], out: Float32Array | Int32Array): void;
  /** out = a op b with numpy broadcasting to `outShape`; op 0 add, 1 subtract, 2 multiply, 3 divide. */
  broadcastBinary(op: 0 | 1 | 2 | 3, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array, outShape: number[]): void;
  /**
   * The first `out.length` token ids of logits[offset .. offset + vocab) by logit, descending, ties by the
   * smaller id (rollout/sampling.ts `candidateOrder`, same order).
   */
  candidateOrder(logits: Float32Array, offset: number, vocab: number, out: Int32Array): void;
  /** parts[i] is (rows, w_i): out (rows, sum w_i) holds them side by side (4-byte elements, one type). */
  concatRows(parts: (Float32Array | Int32Array)[], rows: number, out: Float32Array | Int32Array): void;
  /** out = -x, x * x or 1 / (1 + exp(-x)) (op 0, 1, 2), element-wise. */
  unary(op: 0 | 1 | 2, x: Float32Array, out: Float32Array): void;
  /** x is (rows, cols): out[r] = sum_j x[r, j] / cols, in tfjs-cpu's order (divide, round, sum in double). */
  meanRows(x: Float32Array, rows: number, out: Float32Array): void;
  /** `openblas_set_num_threads`. */
  setThreads(threads: number): void;
  info(): BlasInfo;
}

/** The addon with its OpenBLAS, or why there is none. */
export type BlasAvailability = { addon: BlasAddon; info: BlasInfo } | { addon: undefined; reason: string };

const ADDON = fileURLToPath(new URL('./native/build/Release/posttrain_blas.node', import.meta.url));
const NOT_BUILT = fileURLToPath(new URL('./native/build/not-built.txt', import.meta.url));

let availability: BlasAvailability | undefined;

/**
 * Loads the addon on first call; later calls return the same answer.
 *
 * @example
 * const blas = loadBlasAddon();
 * if (blas.addon) blas.addon.setThreads(2); else console.log(blas.reason); // "addon not built: libopenblas not found ..."
 */
export function loadBlasAddon(): BlasAvailability {
  availability ??= load();
  return availability;
}

function load(): BlasAvailability {
  if (process.env.POSTTRAIN_BLAS === '0') return { addon: undefined, reason: 'disabled by POSTTRAIN_BLAS=0' };
  if (!existsSync(ADDON)) {
    const why = existsSync(NOT_BUILT) ? readFileSync(NOT_BUILT, 'utf8').trim() : 'npm ci builds it when libopenblas-dev is installed; or run npm run build:blas';
    return { addon: undefined, reason: `addon not built: ${why}` };
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON) as BlasAddon;
    return { addon, info: addon.info() };
  } catch (error) {
    const cause = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { addon: undefined, reason: `addon cannot load: ${cause}` };
  }
}
