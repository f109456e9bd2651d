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
 * Ticks are computed by count: tick `i` is `(first + i) * step`, never `tick += step`, so a loop cannot stall when
 * the step is smaller than one ulp of the values (an extent a few ulps wide once made `tick += step` stop advancing
 * and the report died with a V8 fatal error). d3-array's `ticks`/`nice` were measured as the alternative: they
 * return `[NaN]` for extents near +-1e308 and throw "Invalid array length" for subnormal ones, so the guards below
 * would be needed around them anyway. Extents too narrow to tell apart (under 1e-12 of their magnitude, or
 * under 1e-300) are drawn as flat and padded; non-finite bounds fall back to 0 and 1.
 *
 * @example
 * const y = linearScale([0, 0.93], [240, 10]); // y(0) === 240, y.ticks = [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export function linearScale([min, max]: [number, number], [start, end]: [number, number], tickCount = 5): Scale {
  const [low, high] = drawableExtent(min, max);
  const count = Math.max(1, Math.floor(Number.isFinite(tickCount) ? tickCount : 5));
  // (high - low) overflows for extents near +-1e308; the halves never do.
  const raw = high / count - low / count;
  const step = niceStep(Number.isFinite(raw) ? raw : Number.MAX_VALUE);
  let first = Math.floor(low / step);
  let last = Math.ceil(high / step);
  // low / step may round or underflow (5e-324 / 2 === 0); the ends must still cover the data.
  if (tickValue(first, step) > low) first--;
  if (tickValue(last, step) < high) last++;
  const ticks: number[] = [];
  for (let index = first; index <= last; index++) {
    const tick = tickValue(index, step);
    if (Number.isFinite(tick)) ticks.push(tick);
  }
  // A round bound past +-Number.MAX_VALUE is clamped to it, so the domain still covers the data.
  const domainLow = Math.max(tickValue(first, step), -Number.MAX_VALUE);
  const domainHigh = Math.min(tickValue(last, step), Number.MAX_VALUE);
  const halfSpan = domainHigh / 2 - domainLow / 2;
  const scale = ((value: number) => start + ((value / 2 - domainLow / 2) / halfSpan) * (end - start)) as Scale;
  scale.ticks = ticks;
  scale.domain = [domainLow, domainHigh];
  return scale;
}

/** Smallest span drawn as a range: below it `1 / step` overflows and ticks lose their meaning. */
const MINIMUM_SPAN = 1e-300;
/** Spans under this fraction of the values' magnitude (a few thousand ulps) are drawn as flat. */
const RELATIVE_RESOLUTION = 1e-12;

/** Finite, ordered bounds at least MINIMUM_SPAN and RELATIVE_RESOLUTION apart. */
function drawableExtent(min: number, max: number): [number, number] {
  let low = Number.isFinite(min) ? min : 0;
  let high = Number.isFinite(max) ? max : 1;
  if (low > high) [low, high] = [high, low];
  const magnitude = Math.max(Math.abs(low), Math.abs(high));
  if (high - low >= MINIMUM_SPAN && high - low > magnitude * RELATIVE_RESOLUTION) return [low, high];
  const center = low / 2 + high / 2;
  const pad = Math.abs(center) * 0.1 >= MINIMUM_SPAN ? Math.abs(center) * 0.1 : 1;
  return [Math.max(center - pad, -Number.MAX_VALUE), Math.min(center + pad, Number.MAX_VALUE)];
}

/** The tick at `index` steps from zero; dividing by the integer `1 / step` keeps decimal ticks exact (0.6, not 0.6000000000000001). */
function tickValue(index: number, step: number): number {
  return step < 1 ? index / Math.round(1 / step) : index * step;
}

/**
 * A base-10 log scale (for log-distributed hyperparameters such as learning rates); ticks at powers of ten.
 *
 * @example
 * const y = logScale([1e-5, 1e-3], [240, 10]); // y.ticks = [1e-5, 1e-4, 1e-3]
 */
export function logScale([min, max]: [number, number], [start, end]: [number, number]): Scale {
  const positiveMin = min > 0 && Number.isFinite(min) ? min : 1e-12;
  const positiveMax = max > 0 && Number.isFinite(max) ? max : positiveMin;
  // Powers of ten from 1e-307 to 1e308 are normal doubles; beyond them a tick would be 0 or Infinity.
  const low = Math.min(Math.max(Math.floor(Math.log10(Math.min(positiveMin, positiveMax))), -307), 307);
  const high = Math.min(Math.max(Math.ceil(Math.log10(Math.max(positiveMin, positiveMax))), low + 1), 308);
  const stride = Math.ceil((high - low) / 10);
  const ticks: number[] = [];
  for (let exponent = low; exponent <= high; exponent += stride) ticks.push(Number(`1e${exponent}`));
  const scale = ((value: number) =>
    start + ((Math.log10(Math.max(value, 1e-300)) - low) / (high - low)) * (end - start)) as Scale;
  scale.ticks = ticks;
  scale.domain = [Number(`1e${low}`), Number(`1e${high}`)];
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

/** A round step (1, 2, 5 x 10^k) near `raw`, with d3's thresholds: sqrt(50), sqrt(10), sqrt(2). */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction >= 7.07 ? 10 : fraction >= 3.16 ? 5 : fraction >= 1.41 ? 2 : 1;
  return Number.isFinite(nice * power) ? nice * power : power;
}
