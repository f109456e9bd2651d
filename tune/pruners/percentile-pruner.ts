import { ConfigError } from '../../runtime/errors.ts';
import type { StudyView } from '../study-view.ts';
import type { FrozenTrial } from '../types.ts';
import type { Pruner } from './pruner.ts';

export interface PercentilePrunerOptions {
  /** Trials are not pruned until this many trials have COMPLETED. Default 5. */
  nStartupTrials?: number;
  /** Steps before which a trial is never pruned. Default 0. */
  nWarmupSteps?: number;
  /** Prune checks happen once per interval of steps after warm-up. Default 1. */
  intervalSteps?: number;
  /** Completed trials that must have reported the step before comparing. Default 1. */
  nMinTrials?: number;
}

/**
 * Prunes a trial whose best intermediate value so far is worse than the given percentile of the completed
 * trials' values at the same step (Optuna's `PercentilePruner`; the median pruner is percentile 50).
 *
 * @example
 * new PercentilePruner(25, { nStartupTrials: 5, nWarmupSteps: 10 });
 */
export class PercentilePruner implements Pruner {
  readonly percentile: number;
  readonly nStartupTrials: number;
  readonly nWarmupSteps: number;
  readonly intervalSteps: number;
  readonly nMinTrials: number;

  constructor(percentile: number, options: PercentilePrunerOptions = {}) {
    this.percentile = percentile;
    this.nStartupTrials = options.nStartupTrials ?? 5;
    this.nWarmupSteps = options.nWarmupSteps ?? 0;
    this.intervalSteps = options.intervalSteps ?? 1;
    this.nMinTrials = options.nMinTrials ?? 1;
    const problems: { path: string; message: string }[] = [];
    if (!(percentile >= 0 && percentile <= 100)) problems.push({ path: 'pruner.percentile', message: `must be in [0, 100]; got ${percentile}` });
    if (!(this.nStartupTrials >= 0)) problems.push({ path: 'pruner.nStartupTrials', message: `must be >= 0; got ${this.nStartupTrials}` });
    if (!(this.nWarmupSteps >= 0)) problems.push({ path: 'pruner.nWarmupSteps', message: `must be >= 0; got ${this.nWarmupSteps}` });
    if (!(this.intervalSteps >= 1)) problems.push({ path: 'pruner.intervalSteps', message: `must be >= 1; got ${this.intervalSteps}` });
    if (!(this.nMinTrials >= 1)) problems.push({ path: 'pruner.nMinTrials', message: `must be >= 1; got ${this.nMinTrials}` });
    if (problems.length > 0) throw new ConfigError(problems);
  }

  prune(study: StudyView, trial: FrozenTrial): boolean {
    const completed = study.getTrials(['COMPLETE']);
    if (completed.length === 0 || completed.length < this.nStartupTrials) return false;
    const step = trial.lastStep;
    if (step === undefined || step < this.nWarmupSteps) return false;
    if (!isFirstInIntervalStep(step, [...trial.intermediateValues.keys()], this.nWarmupSteps, this.intervalSteps)) return false;
    const maximize = study.direction === 'MAXIMIZE';
    const best = bestIntermediateValue(trial, maximize);
    if (Number.isNaN(best)) return true;
    const atStep = completed.flatMap((other) => (other.intermediateValues.has(step) ? [other.intermediateValues.get(step)!] : []));
    if (atStep.length < this.nMinTrials) return false;
    const threshold = nanPercentile(atStep, maximize ? 100 - this.percentile : this.percentile);
    if (Number.isNaN(threshold)) return false;
    return maximize ? best < threshold : best > threshold;
  }
}

/**
 * Checks at the first reported step of each interval only: the step is checked when the previous reported step
 * lies before the interval's first pruning step (Optuna's `_is_first_in_interval_step`).
 */
function isFirstInIntervalStep(step: number, steps: readonly number[], nWarmupSteps: number, intervalSteps: number): boolean {
  const nearestLowerPruningStep = Math.floor((step - nWarmupSteps) / intervalSteps) * intervalSteps + nWarmupSteps;
  let secondLast = -1;
  for (const other of steps) if (other > secondLast && other !== step) secondLast = other;
  return secondLast < nearestLowerPruningStep;
}

/** The best value the trial reported at any step, ignoring NaNs (NaN when all are NaN). */
function bestIntermediateValue(trial: FrozenTrial, maximize: boolean): number {
  const values = [...trial.intermediateValues.values()].filter((value) => !Number.isNaN(value));
  if (values.length === 0) return NaN;
  return maximize ? Math.max(...values) : Math.min(...values);
}

/** numpy's `nanpercentile` with linear interpolation. */
export function nanPercentile(values: readonly number[], percentile: number): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const position = (percentile / 100) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  if (lower === upper) return sorted[lower]!;
  const lowerValue = sorted[lower]!;
  const upperValue = sorted[upper]!;
  // numpy interpolates as lower + (upper - lower) * fraction, which keeps infinities well defined when equal.
  return lowerValue === upperValue ? lowerValue : lowerValue + (upperValue - lowerValue) * (position - lower);
}
