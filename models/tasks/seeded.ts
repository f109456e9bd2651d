/**
 * Everything a task produces is a pure function of (seed, stream, index): example `i` of the SFT stream is the same
 * whether it is drawn first or after a resume, so a checkpoint stores only the cursor (an integer) and a resumed run
 * sees exactly the data the uninterrupted run would have seen.
 */
import { Rng } from '../rng.ts';

/** A generator private to one example: seeded from the task seed, the stream's name and the example index. */
export function exampleRng(seed: number, stream: string, index: number): Rng {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`example index must be a non-negative safe integer, got ${index}`);
  const low = index % 0x1_0000_0000;
  const high = Math.floor(index / 0x1_0000_0000);
  return new Rng(mixWords([seed >>> 0, hashString(stream), low, high]));
}

/**
 * Splits `items` into a train and an eval part with a permutation seeded by (seed, 'split'): exactly
 * `round(evalFraction * n)` items (at least 1, at most n - 1) are eval. Both parts keep a deterministic order.
 */
export function splitTrainEval<T>(items: readonly T[], seed: number, evalFraction: number): { train: T[]; eval: T[] } {
  const { train, eval: held } = splitIndices(items.length, seed, evalFraction);
  return { train: Array.from(train, (index) => items[index]!), eval: Array.from(held, (index) => items[index]!) };
}

/** `splitTrainEval` over the indices 0..count-1, as typed arrays (for problem spaces of millions). */
export function splitIndices(count: number, seed: number, evalFraction: number): { train: Int32Array; eval: Int32Array } {
  const evalCount = Math.min(count - 1, Math.max(1, Math.round(evalFraction * count)));
  const order = Int32Array.from({ length: count }, (_, index) => index);
  const rng = exampleRng(seed, 'split', 0);
  for (let index = count - 1; index > 0; index--) {
    const other = rng.int(index + 1);
    const kept = order[index]!;
    order[index] = order[other]!;
    order[other] = kept;
  }
  return { eval: order.subarray(0, evalCount), train: order.subarray(evalCount) };
}

/** FNV-1a over UTF-16 code units. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return hash >>> 0;
}

/** Combines 32-bit words with murmur3's finaliser after each word, so nearby inputs give unrelated seeds. */
function mixWords(words: readonly number[]): number {
  let hash = 0x9e3779b9;
  for (const word of words) {
    hash = Math.imul(hash ^ (word >>> 0), 0x85ebca6b);
    hash ^= hash >>> 13;
    hash = Math.imul(hash, 0xc2b2ae35);
    hash ^= hash >>> 16;
  }
  return hash >>> 0;
}
