import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { linearScale, logScale } from '../../observe/charts/scale.ts';

// The README's quick start once died in `linearScale` (a V8 fatal error) on an extent a few ulps wide.
// Every extent, however extreme, must give a few finite, increasing ticks and a finite map onto the pixels.

const ulpApart = [0.9574244515253947, 0.9574244515253948] as [number, number];
const extremes: Array<[number, number]> = [
  ulpApart,
  [1, 1],
  [0, 0],
  [-0, 0],
  [5e-324, 1e-323],
  [-5e-324, 5e-324],
  [1e-310, 1e-309],
  [-Number.MAX_VALUE, Number.MAX_VALUE],
  [Number.MAX_VALUE, Number.MAX_VALUE],
  [1e15, 1e15 + 2],
  [2 ** 53, 2 ** 53 + 2],
  [Number.NaN, 1],
  [0, Number.POSITIVE_INFINITY],
  [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
  [Number.NaN, Number.NaN],
  [3, -3],
];

function expectDrawable(scale: ReturnType<typeof linearScale>, extent: [number, number], pixels: [number, number]): void {
  const { ticks, domain } = scale;
  expect(ticks.length).toBeGreaterThanOrEqual(1);
  expect(ticks.length).toBeLessThanOrEqual(25);
  for (const tick of ticks) expect(Number.isFinite(tick)).toBe(true);
  for (let index = 1; index < ticks.length; index++) expect(ticks[index]).toBeGreaterThan(ticks[index - 1]!);
  expect(Number.isFinite(domain[0]) && Number.isFinite(domain[1])).toBe(true);
  expect(domain[1]).toBeGreaterThan(domain[0]);
  for (const value of extent) {
    if (!Number.isFinite(value)) continue;
    expect(value).toBeGreaterThanOrEqual(domain[0]);
    expect(value).toBeLessThanOrEqual(domain[1]);
    const pixel = scale(value);
    expect(Number.isFinite(pixel)).toBe(true);
    expect(pixel).toBeGreaterThanOrEqual(Math.min(...pixels) - 1e-9);
    expect(pixel).toBeLessThanOrEqual(Math.max(...pixels) + 1e-9);
  }
}

describe('linearScale', () => {
  it('ends its tick loop on an extent a few ulps wide (the quick start crash)', () => {
    const scale = linearScale(ulpApart, [240, 10]);
    expectDrawable(scale, ulpApart, [240, 10]);
  });

  it.each(extremes)('gives finite increasing ticks covering [%s, %s]', (min, max) => {
    expectDrawable(linearScale([min, max], [240, 10]), [min, max], [240, 10]);
  });

  it('gives finite increasing ticks covering any pair of doubles (property)', () => {
    fc.assert(
      fc.property(fc.double(), fc.double(), fc.integer({ min: 1, max: 10 }), (first, second, tickCount) => {
        const extent: [number, number] = [Math.min(first, second), Math.max(first, second)];
        expectDrawable(linearScale(extent, [0, 600], tickCount), extent, [0, 600]);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps round ticks on ordinary extents', () => {
    expect(linearScale([0, 0.93], [240, 10]).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearScale([-0.5, 0.5], [0, 1]).ticks).toEqual([-0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6]);
    expect(linearScale([1, 1], [0, 1]).ticks).toEqual([0.9, 0.95, 1, 1.05, 1.1]);
    const scale = linearScale([0, 0.93], [240, 10]);
    expect(scale(0)).toBe(240);
    expect(scale(1)).toBe(10);
  });
});

describe('logScale', () => {
  it('gives finite increasing ticks for any pair of doubles (property)', () => {
    fc.assert(
      fc.property(fc.double(), fc.double(), (min, max) => {
        const { ticks, domain } = logScale([min, max], [240, 10]);
        expect(ticks.length).toBeGreaterThanOrEqual(2);
        expect(ticks.length).toBeLessThanOrEqual(12);
        for (const tick of ticks) expect(Number.isFinite(tick) && tick > 0).toBe(true);
        for (let index = 1; index < ticks.length; index++) expect(ticks[index]).toBeGreaterThan(ticks[index - 1]!);
        expect(domain[1]).toBeGreaterThan(domain[0]);
      }),
      { numRuns: 2000 },
    );
  });

  it('ticks at each power of ten on ordinary extents', () => {
    expect(logScale([1e-5, 1e-3], [240, 10]).ticks).toEqual([1e-5, 1e-4, 1e-3]);
  });
});
