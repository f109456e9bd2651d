import { randomInt } from 'node:crypto';
import { Rng } from '../../../models/rng.ts';
import { type Distribution, type ParamValue, toExternal, toInternal } from '../../distributions.ts';
import type { StudyView } from '../../study-view.ts';
import type { FrozenTrial } from '../../types.ts';
import type { Sampler } from '../sampler.ts';
import { sampleUniform } from '../search-space-transform.ts';
import { ParzenEstimator, type ParzenEstimatorParameters } from './parzen-estimator.ts';

export interface TpeSamplerOptions extends Partial<ParzenEstimatorParameters> {
  /** Random sampling until this many trials are COMPLETE or PRUNED. Default 10. */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per suggestion; the one maximising l(x)/g(x) wins. Default 24. */
  nEiCandidates?: number;
  /** How many of n finished trials form the "good" group. Default min(ceil(0.1 n), 25). */
  gamma?: (n: number) => number;
  seed?: number;
}

/** Optuna's default split: the best 10%, at most 25 trials. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/**
 * Tree-structured Parzen Estimator, independent per parameter, with Optuna's defaults (Bergstra et al. 2011,
 * "Algorithms for Hyper-Parameter Optimization", sec. 4): finished trials are ranked (COMPLETE by value, PRUNED by
 * how far they got, then by their last intermediate value), the best gamma(n) fit l(x), the rest g(x), and the
 * candidate from l with the highest log l(x) - log g(x) (the EI maximiser, eq. 3) is suggested.
 *
 * @example
 * const study = createStudy({ sampler: new TpeSampler({ seed: 42 }), direction: 'minimize' });
 */
export class TpeSampler implements Sampler {
  private readonly rng: Rng;
  private readonly randomRng: Rng;
  private readonly parameters: ParzenEstimatorParameters;
  private readonly nStartupTrials: number;
  private readonly nEiCandidates: number;
  private readonly gamma: (n: number) => number;

  constructor(options: TpeSamplerOptions = {}) {
    const seed = options.seed ?? randomInt(2 ** 31);
    this.rng = new Rng(seed);
    // The startup sampler gets its own stream so that changing nStartupTrials does not shift TPE's draws.
    this.randomRng = new Rng(seed ^ 0x5bd1e995);
    this.parameters = {
      considerPrior: options.considerPrior ?? true,
      priorWeight: options.priorWeight ?? 1,
      considerMagicClip: options.considerMagicClip ?? true,
      considerEndpoints: options.considerEndpoints ?? false,
    };
    this.nStartupTrials = options.nStartupTrials ?? 10;
    this.nEiCandidates = options.nEiCandidates ?? 24;
    this.gamma = options.gamma ?? defaultGamma;
  }

  sampleIndependent(study: StudyView, _trial: FrozenTrial, name: string, distribution: Distribution): ParamValue {
    const observations = observationPairs(study, name);
    const n = observations.length;
    if (n < this.nStartupTrials) return sampleUniform(this.randomRng, distribution);

    const { below, above } = splitObservations(observations, this.gamma(n));
    const valuesOf = (group: Observation[]): number[] => group.flatMap((observation) => (observation.value === undefined ? [] : [observation.value]));
    const good = new ParzenEstimator(valuesOf(below), distribution, this.parameters);
    const bad = new ParzenEstimator(valuesOf(above), distribution, this.parameters);
    const candidates = good.sample(this.rng, this.nEiCandidates);
    const logGood = good.logPdf(candidates);
    const logBad = bad.logPdf(candidates);
    let best = 0;
    for (let i = 1; i < candidates.length; i++) if (logGood[i]! - logBad[i]! > logGood[best]! - logBad[best]!) best = i;
    return toExternal(distribution, candidates[best]!);
  }
}

/** One finished trial as TPE ranks it: `(step, score)` sorts ascending, smaller is better. */
export interface Observation {
  /** -Infinity for COMPLETE trials, -lastStep for PRUNED ones (further is better), 1 if pruned before reporting. */
  step: number;
  /** Objective value signed so that smaller is better. */
  score: number;
  /** Internal value of the parameter, undefined when the trial did not use it. */
  value: number | undefined;
  /** The trial's number (for inspection). */
  number: number;
}

/** Optuna's `_get_observation_pairs` for one parameter of a single-objective study. */
export function observationPairs(study: StudyView, name: string): Observation[] {
  const sign = study.direction === 'MINIMIZE' ? 1 : -1;
  const observations: Observation[] = [];
  for (const trial of study.getTrials(['COMPLETE', 'PRUNED'])) {
    let step: number;
    let score: number;
    if (trial.state === 'COMPLETE') {
      if (trial.values === undefined) continue;
      [step, score] = [-Infinity, sign * trial.values[0]!];
    } else if (trial.lastStep !== undefined) {
      const last = trial.intermediateValues.get(trial.lastStep)!;
      [step, score] = [-trial.lastStep, Number.isNaN(last) ? Infinity : sign * last];
    } else {
      [step, score] = [1, 0];
    }
    const distribution = trial.distributions[name];
    const value = distribution === undefined ? undefined : toInternal(distribution, trial.params[name]!);
    observations.push({ step, score, value, number: trial.number });
  }
  return observations;
}

/** The best `nBelow` observations (stable lexicographic sort on (step, score)) and the rest, each in trial order. */
export function splitObservations(observations: Observation[], nBelow: number): { below: Observation[]; above: Observation[] } {
  const ranked = observations
    .map((observation, index) => ({ observation, index }))
    .sort((a, b) => compareScores(a.observation.step, b.observation.step) || compareScores(a.observation.score, b.observation.score) || a.index - b.index);
  const belowIndexes = new Set(ranked.slice(0, nBelow).map((entry) => entry.index));
  return {
    below: observations.filter((_, index) => belowIndexes.has(index)),
    above: observations.filter((_, index) => !belowIndexes.has(index)),
  };
}

/** Ascending order that tolerates infinities (a - b is NaN for inf - inf). */
function compareScores(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}
