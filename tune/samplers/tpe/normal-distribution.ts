/**
 * The standard normal's CDF in log space and the truncated normal built on it, ported from the SciPy code that
 * Optuna's TPE vendors (`optuna/samplers/_tpe/_truncnorm.py`): log-space arithmetic keeps far tails finite.
 * JavaScript has no `erf`, so `erfc` is computed here from its Taylor series (|x| < 2.5) and its continued
 * fraction (Abramowitz & Stegun 7.1.5 and 7.1.14), both accurate to about 1e-14 relative.
 */

const SQRT_PI = Math.sqrt(Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Complementary error function. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) return 1 - erfSeries(x);
  if (x > 27) return 0;
  // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/** Error function. */
export function erf(x: number): number {
  if (Math.abs(x) < 2.5) return erfSeries(x);
  return x > 0 ? 1 - erfc(x) : erfc(-x) - 1;
}

/** erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)): every term positive, no cancellation. */
function erfSeries(x: number): number {
  const twoXSquared = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= twoXSquared / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x * x) * sum;
}

/** Standard normal CDF Phi(a), choosing erf or erfc to keep precision (Optuna's `_ndtr_single`). */
export function ndtr(a: number): number {
  const x = a / Math.SQRT2;
  if (x < -Math.SQRT1_2) return 0.5 * erfc(-x);
  if (x < Math.SQRT1_2) return 0.5 + 0.5 * erf(x);
  return 1 - 0.5 * erfc(x);
}

/** log Phi(a), with an asymptotic series below -20 where Phi underflows (Optuna's `_log_ndtr_single`). */
export function logNdtr(a: number): number {
  if (a > 6) return -ndtr(-a);
  if (a > -20) return Math.log(ndtr(a));
  const logLeftHandSide = -0.5 * a * a - Math.log(-a) - 0.5 * Math.log(2 * Math.PI);
  let lastTotal = 0;
  let rightHandSide = 1;
  let numerator = 1;
  let denominatorFactor = 1;
  const denominatorConstant = 1 / (a * a);
  let sign = 1;
  for (let i = 1; Math.abs(lastTotal - rightHandSide) > Number.EPSILON; i++) {
    lastTotal = rightHandSide;
    sign = -sign;
    denominatorFactor *= denominatorConstant;
    numerator *= 2 * i - 1;
    rightHandSide += sign * numerator * denominatorFactor;
  }
  return logLeftHandSide + Math.log(rightHandSide);
}

/** log(exp(p) + exp(q)) without overflow. */
export function logAddExp(p: number, q: number): number {
  if (p === -Infinity) return q;
  if (q === -Infinity) return p;
  const high = Math.max(p, q);
  return high + Math.log1p(Math.exp(-Math.abs(p - q)));
}

/** log(exp(p) - exp(q)) for p >= q. */
function logDiff(p: number, q: number): number {
  return p + Math.log1p(-Math.exp(q - p));
}

/** log of the standard normal's mass on [a, b], working in whichever tail is accurate. */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a));
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b));
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

/** The x with log Phi(x) = y, by bisection on [-100, 100] (Optuna's `_ndtri_exp`). */
function ndtriExp(y: number): number {
  let low = -100;
  let high = 100;
  let middle = 0;
  for (let i = 0; i < 100; i++) {
    middle = (low + high) / 2;
    if (logNdtr(middle) < y) low = middle;
    else high = middle;
  }
  return middle;
}

/** Quantile q of the standard normal truncated to [a, b]. */
export function truncatedNormalPpf(q: number, a: number, b: number): number {
  if (a === b) return NaN;
  if (q === 0) return a;
  if (q === 1) return b;
  if (a < 0) return ndtriExp(logAddExp(logNdtr(a), Math.log(q) + logGaussMass(a, b)));
  return -ndtriExp(logAddExp(logNdtr(-b), Math.log1p(-q) + logGaussMass(a, b)));
}

/**
 * log density at x of N(loc, scale^2) truncated to [low, high] (bounds in x units). Includes the -log(scale)
 * Jacobian term, as SciPy's truncnorm does, so components of different widths compare fairly.
 */
export function truncatedNormalLogPdf(x: number, low: number, high: number, loc: number, scale: number): number {
  if (x < low || x > high) return -Infinity;
  const z = (x - loc) / scale;
  return -(z * z) / 2 - LOG_SQRT_2PI - logGaussMass((low - loc) / scale, (high - loc) / scale) - Math.log(scale);
}
