import type { Rng } from '../../../models/rng.ts';
import type { Distribution } from '../../distributions.ts';
import { fromSamplingSpace, samplingBounds } from '../search-space-transform.ts';
import { logAddExp, truncatedNormalLogPdf, truncatedNormalPpf, logGaussMass } from './normal-distribution.ts';

/** Optuna's Parzen-estimator switches (all on by default except endpoints). */
export interface ParzenEstimatorParameters {
  considerPrior: boolean;
  priorWeight: number;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
}

/**
 * Optuna's default observation weights (Bergstra et al. 2013, "Making a Science of Model Search", sec. 2.1):
 * flat for the 25 most recent observations, a linear ramp from 1/n up to 1 for older ones.
 */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = Array.from({ length: n - 25 }, (_, i) => (n - 25 === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (n - 26)));
  return [...ramp, ...new Array<number>(25).fill(1)];
}

/**
 * A one-dimensional Parzen estimator (Bergstra et al. 2011, "Algorithms for Hyper-Parameter Optimization",
 * sec. 4): a mixture of one truncated Gaussian per observation plus a wide prior component, with Optuna's
 * bandwidth rule (each component's sigma is the larger gap to its sorted neighbours, clipped to
 * [(high - low) / min(100, 1 + n), high - low]). Categorical parameters get a smoothed histogram per observation.
 * Values live in "sampling space": log for log distributions, internal index for categorical ones.
 */
export class ParzenEstimator {
  private readonly weights: number[];
  private readonly distribution: Distribution;
  private readonly low: number = 0;
  private readonly high: number = 0;
  /** Grid step in sampling space (stepped floats and linear ints), for probability mass instead of density. */
  private readonly step: number | null = null;
  private readonly mus: number[] = [];
  private readonly sigmas: number[] = [];
  /** Per component, a probability per choice (categorical only). */
  private readonly categoricalWeights: number[][] = [];

  /** @param observations internal values (categorical: choice index) of the trials in this group, oldest first */
  constructor(observations: readonly number[], distribution: Distribution, parameters: ParzenEstimatorParameters) {
    this.distribution = distribution;
    const n = observations.length;
    const considerPrior = parameters.considerPrior || n === 0;
    const raw = defaultWeights(n);
    if (considerPrior) raw.push(parameters.priorWeight);
    const total = raw.reduce((sum, weight) => sum + weight, 0);
    this.weights = raw.map((weight) => weight / total);

    if (distribution.kind === 'categorical') {
      const choices = distribution.choices.length;
      const fill = considerPrior ? parameters.priorWeight / (n + 1) : parameters.priorWeight / n;
      const rows = considerPrior ? n + 1 : n;
      for (let row = 0; row < rows; row++) {
        const weights = new Array<number>(choices).fill(fill);
        if (row < n) weights[observations[row]!]! += 1;
        const rowTotal = weights.reduce((sum, weight) => sum + weight, 0);
        this.categoricalWeights.push(weights.map((weight) => weight / rowTotal));
      }
      return;
    }

    [this.low, this.high] = samplingBounds(distribution);
    this.step = distribution.log ? null : distribution.step;
    const transformed = observations.map((value) => (distribution.log ? Math.log(value) : value));
    const mus = considerPrior ? [...transformed, 0.5 * (this.low + this.high)] : transformed;
    const sigmas = this.bandwidths(mus, parameters.considerEndpoints);
    const maxSigma = this.high - this.low;
    const minSigma = parameters.considerMagicClip ? (this.high - this.low) / Math.min(100, 1 + mus.length) : 1e-12;
    for (let i = 0; i < sigmas.length; i++) sigmas[i] = Math.min(Math.max(sigmas[i]!, minSigma), maxSigma);
    if (considerPrior) sigmas[n] = this.high - this.low;
    this.mus = mus;
    this.sigmas = sigmas;
  }

  /** The mixture: weights, and each component's mean and sigma in sampling space (empty for categorical). */
  components(): { weights: readonly number[]; mus: readonly number[]; sigmas: readonly number[] } {
    return { weights: this.weights, mus: this.mus, sigmas: this.sigmas };
  }

  /** Draws `size` values (internal form, on the distribution's grid) from the mixture. */
  sample(rng: Rng, size: number): number[] {
    const samples: number[] = [];
    for (let i = 0; i < size; i++) {
      const component = pickIndex(rng, this.weights);
      if (this.distribution.kind === 'categorical') {
        samples.push(pickIndex(rng, this.categoricalWeights[component]!));
        continue;
      }
      const mu = this.mus[component]!;
      const sigma = this.sigmas[component]!;
      const z = truncatedNormalPpf(rng.uniform(), (this.low - mu) / sigma, (this.high - mu) / sigma);
      samples.push(fromSamplingSpace(this.distribution, z * sigma + mu));
    }
    return samples;
  }

  /** log of the mixture density (or mass, on grids) at each internal value. */
  logPdf(values: readonly number[]): number[] {
    return values.map((value) => {
      let total = -Infinity;
      for (let k = 0; k < this.weights.length; k++) total = logAddExp(total, Math.log(this.weights[k]!) + this.componentLogPdf(k, value));
      return total;
    });
  }

  private componentLogPdf(component: number, value: number): number {
    if (this.distribution.kind === 'categorical') return Math.log(this.categoricalWeights[component]![value]!);
    const mu = this.mus[component]!;
    const sigma = this.sigmas[component]!;
    const x = this.distribution.log ? Math.log(value) : value;
    if (this.step === null) return truncatedNormalLogPdf(x, this.low, this.high, mu, sigma);
    // Mass of the grid cell around x, renormalised to the truncation interval.
    const upper = Math.min(x + this.step / 2, this.high);
    const lower = Math.max(x - this.step / 2, this.low);
    return logGaussMass((lower - mu) / sigma, (upper - mu) / sigma) - logGaussMass((this.low - mu) / sigma, (this.high - mu) / sigma);
  }

  /** Each component's sigma: the larger distance to its sorted neighbours (bounds count as neighbours). */
  private bandwidths(mus: readonly number[], considerEndpoints: boolean): number[] {
    const order = mus.map((_, index) => index).sort((a, b) => mus[a]! - mus[b]! || a - b);
    const sorted = [this.low, ...order.map((index) => mus[index]!), this.high];
    const sortedSigmas = order.map((_, i) => Math.max(sorted[i + 1]! - sorted[i]!, sorted[i + 2]! - sorted[i + 1]!));
    if (!considerEndpoints && sorted.length >= 4) {
      sortedSigmas[0] = sorted[2]! - sorted[1]!;
      sortedSigmas[sortedSigmas.length - 1] = sorted[sorted.length - 2]! - sorted[sorted.length - 3]!;
    }
    const sigmas = new Array<number>(mus.length);
    order.forEach((index, rank) => (sigmas[index] = sortedSigmas[rank]!));
    return sigmas;
  }
}

/** An index drawn with the given probabilities (numpy's `choice(p=...)`: inverse CDF). */
function pickIndex(rng: Rng, probabilities: readonly number[]): number {
  const u = rng.uniform();
  let cumulative = 0;
  for (let i = 0; i < probabilities.length; i++) {
    cumulative += probabilities[i]!;
    if (u < cumulative) return i;
  }
  return probabilities.length - 1;
}
