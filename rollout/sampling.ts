/**
 * Picking the next token from one row of logits, in plain JavaScript on values read back from the engine, so
 * that a seeded Rng gives the same samples on every backend (for the same logits).
 *
 * Order of operations (as in Hugging Face's logits processors): divide by the temperature, keep the `topK`
 * largest, keep the smallest set whose probability reaches `topP` (nucleus, Holtzman et al. 2020, Eq. 3),
 * renormalise, draw by inverse CDF over tokens sorted by probability (ties by id) with one uniform number.
 */
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

  // Candidates sorted by logit, descending; ties broken by the smaller id so the order is deterministic.
  const order = Array.from({ length: vocabSize }, (_, i) => i);
  order.sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b);
  const kept = topK > 0 && topK < vocabSize ? order.slice(0, topK) : order;

  const maximum = logits[offset + kept[0]!]! / temperature;
  const weights = kept.map((token) => Math.exp(logits[offset + token]! / temperature - maximum));
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
    total = weights.slice(0, count).reduce((sum, weight) => sum + weight, 0);
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
