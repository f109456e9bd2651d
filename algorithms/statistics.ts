/**
 * Mean and median of plain numbers (timings, per-step figures), for the benches, sweeps and trainers that each kept
 * their own copy and disagreed on an empty list (NaN, 0, or an out-of-range read). One rule now: values that are not
 * numbers (undefined, NaN) are skipped, as d3-array does, and an empty list gives NaN, which JSON prints as null and
 * no comparison mistakes for a measurement.
 */
import { mean as d3Mean, median as d3Median } from 'd3-array';

/**
 * The arithmetic mean, NaN for no values.
 *
 * @example
 * mean([1, 2, 6]); // 3
 * mean([]);        // NaN
 */
export function mean(values: Iterable<number | undefined> | ArrayLike<number>): number {
  return d3Mean(Array.from(values as Iterable<number | undefined>)) ?? Number.NaN;
}

/**
 * The median (the mean of the middle two for an even count), NaN for no values.
 *
 * @example
 * median([3, 1, 2]);    // 2
 * median([4, 1, 3, 2]); // 2.5
 * median([]);           // NaN
 */
export function median(values: Iterable<number | undefined> | ArrayLike<number>): number {
  return d3Median(Array.from(values as Iterable<number | undefined>)) ?? Number.NaN;
}
