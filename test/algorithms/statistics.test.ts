import { describe, expect, it } from 'vitest';
import { mean, median } from '../../algorithms/statistics.ts';

describe('mean and median', () => {
  it('compute the ordinary values', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mean(new Float32Array([0.5, 1.5]))).toBe(1);
  });

  it('give NaN for no values, and skip values that are not numbers', () => {
    expect(mean([])).toBeNaN();
    expect(median([])).toBeNaN();
    expect(median([undefined, 5, Number.NaN, 1])).toBe(3);
    expect(mean([undefined, undefined])).toBeNaN();
  });
});
