import { describe, expect, it } from 'vitest';
import { Rng } from '../../models/index.ts';
import { sampleToken, tokenLogProb } from '../../rollout/index.ts';
import { candidateOrder } from '../../rollout/sampling.ts';

const LOGITS = Float32Array.from([2, 0.5, 3, -1, 1]);
const draw = (options: Parameters<typeof sampleToken>[3], count = 4000, seed = 1) => {
  const rng = new Rng(seed);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < count; i++) counts[sampleToken(LOGITS, 0, 5, options, rng.uniform()).token]++;
  return counts.map((c) => c / count);
};
const softmax = (values: number[]) => {
  const m = Math.max(...values);
  const e = values.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b);
  return e.map((v) => v / z);
};

describe('sampleToken', () => {
  it('top-k 1, temperature 0 and a tiny top-p all pick the argmax', () => {
    for (const options of [{ topK: 1 }, { temperature: 0 }, { topP: 1e-6 }]) {
      for (const u of [0, 0.3, 0.999]) expect(sampleToken(LOGITS, 0, 5, options, u).token).toBe(2);
    }
  });

  it('plain sampling follows softmax(logits) and reports its log-probability', () => {
    const frequencies = draw({});
    const expected = softmax(Array.from(LOGITS));
    frequencies.forEach((f, i) => expect(Math.abs(f - expected[i]!)).toBeLessThan(0.03));
    const sample = sampleToken(LOGITS, 0, 5, {}, 0.5);
    expect(sample.samplingLogProb).toBeCloseTo(tokenLogProb(LOGITS, 0, 5, sample.token), 6);
  });

  it('top-k keeps only the k most likely tokens, renormalised', () => {
    const frequencies = draw({ topK: 2 });
    const expected = softmax([2, 3]);
    expect(frequencies[1]! + frequencies[3]! + frequencies[4]!).toBe(0);
    expect(Math.abs(frequencies[0]! - expected[0]!)).toBeLessThan(0.03);
    const sample = sampleToken(LOGITS, 0, 5, { topK: 2 }, 0.1);
    expect(sample.samplingLogProb).toBeCloseTo(Math.log(expected[sample.token === 2 ? 1 : 0]!), 6);
  });

  it('top-p keeps the smallest set reaching p; temperature flattens or sharpens', () => {
    const p = softmax(Array.from(LOGITS)); // sorted: 2 (0.61), 0 (0.22), 4 (0.08), ...
    expect(draw({ topP: 0.7 }).filter((f) => f > 0).length).toBe(2);
    expect(draw({ topP: p[2]! + p[0]! + 0.01 }).filter((f) => f > 0).length).toBe(3);
    const hot = draw({ temperature: 5 });
    const cold = draw({ temperature: 0.2 });
    expect(hot[3]!).toBeGreaterThan(0.08);
    expect(cold[2]!).toBeGreaterThan(0.98);
  });

  it('the same uniform draw gives the same token', () => {
    expect(draw({ topK: 3, topP: 0.9, temperature: 0.7 }, 500, 9)).toEqual(draw({ topK: 3, topP: 0.9, temperature: 0.7 }, 500, 9));
  });
});

describe('candidateOrder', () => {
  /** The comparator sort sampleToken used before: logit descending, ties by the smaller id. */
  const comparatorOrder = (logits: Float32Array) =>
    Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);

  it('orders ids exactly as the comparator sort (whole or the first k), with ties, signed zeros, infinities and an offset', () => {
    const rng = new Rng(3);
    for (const size of [1, 2, 7, 1000, 49152]) {
      // Values on a coarse grid so that many logits tie; a few special values mixed in.
      const row = Float32Array.from({ length: size }, () => Math.round(rng.normal() * 8) / 4);
      for (const [index, special] of [[0, -0], [1, 0], [2, Infinity], [3, -Infinity], [4, -Infinity], [5, 1e-30], [6, -1e-30]] as const) {
        if (index < size) row[index] = special;
      }
      const padded = new Float32Array(size + 3);
      padded.set(row, 3);
      const expected = comparatorOrder(row);
      expect(Array.from(candidateOrder(padded, 3, size))).toEqual(expected);
      for (const limit of [1, 5, 50]) expect(Array.from(candidateOrder(padded, 3, size, limit))).toEqual(expected.slice(0, limit));
    }
  });
});
