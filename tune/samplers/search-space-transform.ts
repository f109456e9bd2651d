import type { Rng } from '../../models/rng.ts';
import type { Distribution, ParamValue } from '../distributions.ts';

/**
 * Round half to even, as numpy's `np.round` (Optuna rounds sampled values onto step grids with it).
 *
 * @example
 * roundHalfEven(2.5); // 2
 */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const difference = value - floor;
  if (difference > 0.5) return floor + 1;
  if (difference < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The continuous box a numeric distribution is sampled in (Optuna's `_SearchSpaceTransform`): log-space for log
 * distributions, and widened by half a step (or half a unit for log ints) so that every grid point gets an equal
 * share after rounding.
 */
export function samplingBounds(distribution: Exclude<Distribution, { kind: 'categorical' }>): [number, number] {
  if (distribution.kind === 'float') {
    if (distribution.log) return [Math.log(distribution.low), Math.log(distribution.high)];
    if (distribution.step !== null) return [distribution.low - 0.5 * distribution.step, distribution.high + 0.5 * distribution.step];
    return [distribution.low, distribution.high];
  }
  if (distribution.log) return [Math.log(distribution.low - 0.5), Math.log(distribution.high + 0.5)];
  return [distribution.low - 0.5 * distribution.step, distribution.high + 0.5 * distribution.step];
}

/** Maps a point of `samplingBounds` back onto the distribution: exp for log, rounding onto the step grid, clipping. */
export function fromSamplingSpace(distribution: Exclude<Distribution, { kind: 'categorical' }>, point: number): number {
  const clip = (value: number): number => Math.min(Math.max(value, distribution.low), distribution.high);
  if (distribution.kind === 'float') {
    if (distribution.log) return clip(Math.exp(point));
    if (distribution.step === null) return clip(point);
    return clip(roundHalfEven((point - distribution.low) / distribution.step) * distribution.step + distribution.low);
  }
  if (distribution.log) return clip(roundHalfEven(Math.exp(point)));
  return clip(roundHalfEven((point - distribution.low) / distribution.step) * distribution.step + distribution.low);
}

/** One uniform draw from a distribution (what RandomSampler returns, and TPE before it has enough trials). */
export function sampleUniform(rng: Rng, distribution: Distribution): ParamValue {
  if (distribution.kind === 'categorical') return distribution.choices[rng.int(distribution.choices.length)]!;
  const [low, high] = samplingBounds(distribution);
  return fromSamplingSpace(distribution, low + (high - low) * rng.uniform());
}
