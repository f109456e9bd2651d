import type { Distribution, ParamValue } from '../distributions.ts';
import type { StudyView } from '../study-view.ts';
import type { FrozenTrial, TrialState } from '../types.ts';

/**
 * A sampler proposes parameter values. The interface follows Optuna's `BaseSampler` for independent sampling:
 * the study calls `beforeTrial` once when a trial starts, `sampleIndependent` for every parameter the objective
 * suggests (unless it is fixed by `enqueueTrial`, already set, or has a single value), and `afterTrial` when the
 * trial is told. Every implementation runs `test/tune/sampler-conformance.ts`.
 *
 * @example
 * const sampler: Sampler = new TpeSampler({ seed: 0 });
 */
export interface Sampler {
  /** Called when a trial begins (before its first suggestion). */
  beforeTrial?(study: StudyView, trial: FrozenTrial): void;
  /** A value (external form: a number, or the categorical choice itself) for one parameter of `trial`. */
  sampleIndependent(study: StudyView, trial: FrozenTrial, name: string, distribution: Distribution): ParamValue;
  /** Called when a trial finishes, before its state is stored. */
  afterTrial?(study: StudyView, trial: FrozenTrial, state: TrialState, values: readonly number[] | undefined): void;
}
