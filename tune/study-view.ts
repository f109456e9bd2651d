import type { FrozenTrial, StudyDirection, TrialState } from './types.ts';

/**
 * What samplers and pruners see of a study: its trials and a way to leave notes on a trial (Optuna's system
 * attributes, e.g. `grid_id` or `completed_rung_0`). Hyperband hands its brackets a filtered view.
 */
export interface StudyView {
  readonly studyName: string;
  readonly studyId: number;
  readonly directions: readonly StudyDirection[];
  /** The single objective's direction. */
  readonly direction: StudyDirection;
  /** Trials in creation order, optionally only the given states. */
  getTrials(states?: readonly TrialState[]): FrozenTrial[];
  setTrialSystemAttr(trialId: number, key: string, value: unknown): void;
  /** Asks the running optimisation to start no further trials (a grid sampler that has covered its grid). */
  stop(): void;
}

/** A view showing only the trials a predicate keeps (Hyperband's per-bracket study). */
export function filteredView(view: StudyView, keep: (trial: FrozenTrial) => boolean): StudyView {
  return {
    studyName: view.studyName,
    studyId: view.studyId,
    directions: view.directions,
    direction: view.direction,
    getTrials: (states) => view.getTrials(states).filter(keep),
    setTrialSystemAttr: (trialId, key, value) => view.setTrialSystemAttr(trialId, key, value),
    stop: () => view.stop(),
  };
}
