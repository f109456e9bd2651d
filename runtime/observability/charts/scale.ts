/**
 * Scales and ticks for the report's SVG charts: map data to pixels and pick round tick values (1, 2, 5 x 10^k),
 * the way d3's `ticks` does.
 */

/** A map from data values to pixels, and the ticks to draw along it. */
export interface Scale {
  (value: number): number;
  ticks: number[];
  domain: [number, number];
}

/**
 * A linear scale over `[min, max]` (widened to round ticks) onto `[start, end]` pixels.
 *
 * @example
 * const y = linearScale([0, 0.93], [240, 10]); // y(0) === 240, y.ticks = [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export function linearScale([min, max]: [number, number], [start, end]: [number, number], tickCount = 5): Scale {
  let low = Number.isFinite(min) ? min : 0;
  let high = Number.isFinite(max) ? max : 1;
  if (low === high) {
    const pad = low === 0 ? 1 : Math.abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const step = tickStep(low, high, tickCount);
  low = Math.floor(low / step) * step;
  high = Math.ceil(high / step) * step;
  const ticks: number[] = [];
  for (let tick = low; tick <= high + step / 2; tick += step) ticks.push(roundTo(tick, step));
  const scale = ((value: number) => start + ((value - low) / (high - low)) * (end - start)) as Scale;
  scale.ticks = ticks;
  scale.domain = [low, high];
  return scale;
}

/**
 * A base-10 log scale (for log-distributed hyperparameters such as learning rates); ticks at powers of ten.
 *
 * @example
 * const y = logScale([1e-5, 1e-3], [240, 10]); // y.ticks = [1e-5, 1e-4, 1e-3]
 */
export function logScale([min, max]: [number, number], [start, end]: [number, number]): Scale {
  const positiveMin = min > 0 ? min : 1e-12;
  const low = Math.floor(Math.log10(positiveMin));
  const high = Math.max(Math.ceil(Math.log10(max > 0 ? max : positiveMin)), low + 1);
  const ticks: number[] = [];
  for (let exponent = low; exponent <= high; exponent++) ticks.push(10 ** exponent);
  const scale = ((value: number) =>
    start + ((Math.log10(Math.max(value, 1e-300)) - low) / (high - low)) * (end - start)) as Scale;
  scale.ticks = ticks;
  scale.domain = [10 ** low, 10 ** high];
  return scale;
}

/** Extent of the finite values; `[0, 1]` when there are none. */
export function extent(values: Iterable<number>): [number, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (!Number.isFinite(value)) continue;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return min === Number.POSITIVE_INFINITY ? [0, 1] : [min, max];
}

/**
 * A short label for a tick or a value: up to 4 significant digits, exponent form for very large or small numbers.
 *
 * @example
 * formatNumber(0.000123); // '1.23e-4'
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) {
    const [mantissa, exponent] = value.toExponential(2).split('e');
    return `${String(Number(mantissa))}e${Number(exponent)}`;
  }
  return String(Number(value.toPrecision(4)));
}

function tickStep(low: number, high: number, count: number): number {
  const raw = (high - low) / Math.max(count, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  // d3's thresholds: sqrt(50), sqrt(10), sqrt(2) split the decade into steps of 10, 5, 2 and 1.
  const nice = fraction >= 7.07 ? 10 : fraction >= 3.16 ? 5 : fraction >= 1.41 ? 2 : 1;
  return nice * power;
}

function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(decimals, 20)));
}
