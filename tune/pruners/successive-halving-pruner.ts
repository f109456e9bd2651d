import { ConfigError } from '../../runtime/errors.ts';
import type { StudyView } from '../study-view.ts';
import type { FrozenTrial } from '../types.ts';
import type { Pruner } from './pruner.ts';

export interface SuccessiveHalvingPrunerOptions {
  /** Steps before the first rung; 'auto' = max(last step of the longest completed trial / 100, 1). Default 'auto'. */
  minResource?: number | 'auto';
  /** Only the top 1/reductionFactor of a rung is promoted. Default 4. */
  reductionFactor?: number;
  /** Shifts every rung up by this many levels. Default 0. */
  minEarlyStoppingRate?: number;
  /** Trials needed in a rung before any is promoted (needs a fixed minResource). Default 0. */
  bootstrapCount?: number;
}

/** The system attribute recording the value a trial had when it reached a rung (Optuna's key). */
export const completedRungKey = (rung: number): string => `completed_rung_${rung}`;

/**
 * Asynchronous Successive Halving (Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning",
 * Algorithm 1, as Optuna implements it): rung r is reached at step minResource * reductionFactor^(rate + r); the
 * trial's value there is stored as the `completed_rung_r` system attribute, and it continues only if it ranks in
 * the top 1/reductionFactor of all values recorded at that rung.
 *
 * @example
 * new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 4 });
 */
export class SuccessiveHalvingPruner implements Pruner {
  private minResource: number | undefined;
  readonly reductionFactor: number;
  readonly minEarlyStoppingRate: number;
  readonly bootstrapCount: number;

  constructor(options: SuccessiveHalvingPrunerOptions = {}) {
    const minResource = options.minResource ?? 'auto';
    this.reductionFactor = options.reductionFactor ?? 4;
    this.minEarlyStoppingRate = options.minEarlyStoppingRate ?? 0;
    this.bootstrapCount = options.bootstrapCount ?? 0;
    const problems: { path: string; message: string }[] = [];
    if (minResource !== 'auto' && !(Number.isInteger(minResource) && minResource >= 1)) {
      problems.push({ path: 'pruner.minResource', message: `must be an integer >= 1 or 'auto'; got ${minResource}` });
    }
    if (!(Number.isInteger(this.reductionFactor) && this.reductionFactor >= 2)) problems.push({ path: 'pruner.reductionFactor', message: `must be an integer >= 2; got ${this.reductionFactor}` });
    if (!(this.minEarlyStoppingRate >= 0)) problems.push({ path: 'pruner.minEarlyStoppingRate', message: `must be >= 0; got ${this.minEarlyStoppingRate}` });
    if (!(this.bootstrapCount >= 0)) problems.push({ path: 'pruner.bootstrapCount', message: `must be >= 0; got ${this.bootstrapCount}` });
    if (this.bootstrapCount > 0 && minResource === 'auto') problems.push({ path: 'pruner.bootstrapCount', message: "needs a fixed minResource, not 'auto'" });
    if (problems.length > 0) throw new ConfigError(problems);
    this.minResource = minResource === 'auto' ? undefined : minResource;
  }

  prune(study: StudyView, trial: FrozenTrial): boolean {
    const step = trial.lastStep;
    if (step === undefined) return false;
    let rung = currentRung(trial);
    const value = trial.intermediateValues.get(step)!;
    let trials: FrozenTrial[] | undefined;
    for (;;) {
      if (this.minResource === undefined) {
        trials ??= study.getTrials();
        this.minResource = estimateMinResource(trials);
        if (this.minResource === undefined) return false;
      }
      const rungPromotionStep = this.minResource * this.reductionFactor ** (this.minEarlyStoppingRate + rung);
      if (step < rungPromotionStep) return false;
      if (Number.isNaN(value)) return true;
      trials ??= study.getTrials();
      const key = completedRungKey(rung);
      study.setTrialSystemAttr(trial.trialId, key, value);
      const competing = trials.flatMap((other) => (key in other.systemAttrs ? [other.systemAttrs[key] as number] : []));
      competing.push(value);
      if (competing.length <= this.bootstrapCount) return true;
      if (!isPromotable(value, competing, this.reductionFactor, study.direction === 'MAXIMIZE')) return true;
      rung++;
    }
  }
}

function currentRung(trial: FrozenTrial): number {
  let rung = 0;
  while (completedRungKey(rung) in trial.systemAttrs) rung++;
  return rung;
}

function estimateMinResource(trials: readonly FrozenTrial[]): number | undefined {
  const lastSteps = trials.flatMap((trial) => (trial.state === 'COMPLETE' && trial.lastStep !== undefined ? [trial.lastStep] : []));
  if (lastSteps.length === 0) return undefined;
  return Math.max(Math.floor(Math.max(...lastSteps) / 100), 1);
}

/** In the top 1/reductionFactor of the rung (at least the single best). */
function isPromotable(value: number, competing: number[], reductionFactor: number, maximize: boolean): boolean {
  let promotableIndex = Math.floor(competing.length / reductionFactor) - 1;
  if (promotableIndex === -1) promotableIndex = 0;
  competing.sort((a, b) => a - b);
  return maximize ? value >= competing[competing.length - 1 - promotableIndex]! : value <= competing[promotableIndex]!;
}
