/**
 * Picking the next token from one row of logits, in plain JavaScript on values read back from the engine, so
 * that a seeded Rng gives the same samples on every backend (for the same logits).
 *
 * Order of operations (as in Hugging Face's logits processors): divide by the temperature, keep the `topK`
 * largest, keep the smallest set whose probability reaches `topP` (nucleus, Holtzman et al. 2020, Eq. 3),
 * renormalise, draw by inverse CDF over tokens sorted by probability (ties by id) with one uniform number.
 */
import { loadBlasAddon } from '../models/kernels/blas/blas-addon.ts';
import { ConfigError } from '../runtime/errors.ts';

export interface SamplingOptions {
  /** Divide logits by this before sampling; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 (default) keeps all. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 (default) keeps all. */
  topP?: number;
}

/** One sampled token and its log-probability under the distribution it was drawn from. */
export interface SampledToken {
  token: number;
  /** log q(token), q = the temperature-scaled, top-k/top-p-truncated, renormalised distribution (0 if greedy). */
  samplingLogProb: number;
}

/** Throws a ConfigError naming each bad field. */
export function validateSamplingOptions(options: SamplingOptions, path = 'rollout'): void {
  const issues: { path: string; message: string }[] = [];
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) issues.push({ path: `${path}.temperature`, message: `must be >= 0, got ${temperature}` });
  if (!Number.isInteger(topK) || topK < 0) issues.push({ path: `${path}.topK`, message: `must be an integer >= 0 (0 = off), got ${topK}` });
  if (!(topP > 0 && topP <= 1)) issues.push({ path: `${path}.topP`, message: `must be in (0, 1], got ${topP}` });
  if (issues.length) throw new ConfigError(issues);
}

/**
 * Samples from `logits[offset .. offset + vocabSize)` with one uniform draw `u` in [0, 1).
 *
 * @example
 * sampleToken(new Float32Array([0, 5, 1]), 0, 3, { topK: 1 }, 0.42); // { token: 1, samplingLogProb: 0 }
 */
export function sampleToken(logits: Float32Array, offset: number, vocabSize: number, options: SamplingOptions, u: number): SampledToken {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  if (temperature === 0 || topK === 1) return { token: argmax(logits, offset, vocabSize), samplingLogProb: 0 };

  const kept = candidateOrder(logits, offset, vocabSize, topK > 0 && topK < vocabSize ? topK : vocabSize);

  const maximum = logits[offset + kept[0]!]! / temperature;
  const weights = new Float64Array(kept.length);
  for (let i = 0; i < kept.length; i++) weights[i] = Math.exp(logits[offset + kept[i]!]! / temperature - maximum);
  let total = weights.reduce((sum, weight) => sum + weight, 0);
  let count = kept.length;
  if (topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < kept.length; i++) {
      cumulative += weights[i]! / total;
      if (cumulative >= topP) {
        count = i + 1;
        break;
      }
    }
    total = weights.subarray(0, count).reduce((sum, weight) => sum + weight, 0);
  }
  let threshold = u * total;
  let chosen = count - 1;
  for (let i = 0; i < count; i++) {
    threshold -= weights[i]!;
    if (threshold < 0) {
      chosen = i;
      break;
    }
  }
  return { token: kept[chosen]!, samplingLogProb: Math.log(weights[chosen]! / total) };
}

let nativeSampling = true;

/** Sort candidates with the addon's native code (true, the default, where it is built) or in JavaScript. */
export function setNativeSampling(on: boolean): void {
  nativeSampling = on;
}

/** Ids up to 2^21 (2,097,152) fit beside a 32-bit sort key in a float64's 53-bit integer range. */
const ID_BITS = 21;
const ID_RANGE = 2 ** ID_BITS;

/**
 * The first `limit` token ids of `logits[offset .. offset + vocabSize)` by logit, descending, ties broken by the
 * smaller id (the order the inverse CDF walks). Each (logit, id) pair becomes one float64, the logit's bits made
 * order-preserving and inverted, times 2^21, plus the id, so that a native typed-array sort gives the order; with
 * a `limit` (top-k) a bounded heap keeps the `limit` smallest keys first. At a 49k vocabulary this took 16 ms
 * per row against the comparator sort's 57 ms (same session, loaded machine), and it runs for every row of
 * every generation step (bench/vocab-ops.ts). Where the OpenBLAS addon is built, its native sort of the same
 * keys gives the same order (`setNativeSampling(false)` keeps this JavaScript path; tests compare the two).
 */
export function candidateOrder(logits: Float32Array, offset: number, vocabSize: number, limit = vocabSize): Int32Array {
  const addon = nativeSampling && vocabSize <= ID_RANGE && vocabSize > 0 ? loadBlasAddon().addon : undefined;
  if (addon) {
    const order = new Int32Array(Math.min(limit, vocabSize));
    addon.candidateOrder(logits, offset, vocabSize, order);
    return order;
  }
  if (vocabSize > ID_RANGE) {
    const order = Int32Array.from({ length: vocabSize }, (_, i) => i);
    return order.sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b).slice(0, limit);
  }
  const value = new Float32Array(1);
  const bits = new Uint32Array(value.buffer);
  const keyOf = (i: number) => {
    value[0] = logits[offset + i]! + 0; // + 0 turns -0 into 0: the two are equal logits
    const raw = bits[0]!;
    const ascending = raw & 0x80000000 ? ~raw >>> 0 : (raw | 0x80000000) >>> 0; // larger float, larger key
    return (0xffffffff - ascending) * ID_RANGE + i;
  };
  let keys: Float64Array;
  if (limit >= vocabSize) {
    keys = new Float64Array(vocabSize);
    for (let i = 0; i < vocabSize; i++) keys[i] = keyOf(i);
  } else {
    keys = smallestKeys(vocabSize, limit, keyOf);
  }
  keys.sort();
  const order = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) order[i] = keys[i]! % ID_RANGE;
  return order;
}

/** The `count` smallest of key(0) .. key(size - 1), unordered, kept in a max-heap (root = largest kept). */
function smallestKeys(size: number, count: number, key: (i: number) => number): Float64Array {
  const heap = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let child = i;
    heap[child] = key(i);
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (heap[parent]! >= heap[child]!) break;
      [heap[parent], heap[child]] = [heap[child]!, heap[parent]!];
      child = parent;
    }
  }
  for (let i = count; i < size; i++) {
    const candidate = key(i);
    if (candidate >= heap[0]!) continue;
    heap[0] = candidate;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= count) break;
      const larger = left + 1 < count && heap[left + 1]! > heap[left]! ? left + 1 : left;
      if (heap[parent]! >= heap[larger]!) break;
      [heap[parent], heap[larger]] = [heap[larger]!, heap[parent]!];
      parent = larger;
    }
  }
  return heap;
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}

/** log softmax(logits / temperature)[token], computed in float64. */
export function tokenLogProb(logits: Float32Array, offset: number, vocabSize: number, token: number, temperature = 1): number {
  let maximum = -Infinity;
  for (let i = 0; i < vocabSize; i++) maximum = Math.max(maximum, logits[offset + i]! / temperature);
  let total = 0;
  for (let i = 0; i < vocabSize; i++) total += Math.exp(logits[offset + i]! / temperature - maximum);
  return logits[offset + token]! / temperature - maximum - Math.log(total);
}
