import type { Distribution, ParamValue } from './distributions.ts';

/** Trial states, stored by these exact names in Optuna's `trials.state` column. */
export const TrialState = {
  RUNNING: 'RUNNING',
  COMPLETE: 'COMPLETE',
  PRUNED: 'PRUNED',
  FAIL: 'FAIL',
  WAITING: 'WAITING',
} as const;
export type TrialState = (typeof TrialState)[keyof typeof TrialState];

/** COMPLETE, PRUNED and FAIL are final: a finished trial is never written again (Optuna's `is_finished`). */
export function isFinished(state: TrialState): boolean {
  return state === 'COMPLETE' || state === 'PRUNED' || state === 'FAIL';
}

/** Stored by name in `study_directions.direction`. */
export type StudyDirection = 'MINIMIZE' | 'MAXIMIZE';

/** What a user may write: Optuna's lower-case strings or the stored names. */
export type DirectionInput = 'minimize' | 'maximize' | StudyDirection;

/** Normalises a direction given by a user; `undefined` when it is not one. */
export function parseDirection(direction: string): StudyDirection | undefined {
  const upper = direction.toUpperCase();
  return upper === 'MINIMIZE' || upper === 'MAXIMIZE' ? upper : undefined;
}

/**
 * A trial as stored: Optuna's `FrozenTrial` in camelCase. Objects handed out are shared snapshots; do not mutate.
 *
 * @example
 * const best = study.bestTrial;
 * console.log(best.number, best.value, best.params.lr, best.intermediateValues.get(10));
 */
export interface FrozenTrial {
  /** Row id in `trials` (unique across studies in one database). */
  readonly trialId: number;
  /** 0-based position of the trial within its study. */
  readonly number: number;
  readonly state: TrialState;
  /** The single objective value, when there is exactly one. */
  readonly value: number | undefined;
  /** One value per objective; undefined until told. */
  readonly values: readonly number[] | undefined;
  readonly datetimeStart: Date | undefined;
  readonly datetimeComplete: Date | undefined;
  /** External values: numbers for float/int parameters, the choice itself for categorical ones. */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly distributions: Readonly<Record<string, Distribution>>;
  readonly userAttrs: Readonly<Record<string, unknown>>;
  readonly systemAttrs: Readonly<Record<string, unknown>>;
  /** step -> reported value, in step order. */
  readonly intermediateValues: ReadonlyMap<number, number>;
  /** The highest reported step, if any. */
  readonly lastStep: number | undefined;
}

/** Study-level facts stored next to its trials. */
export interface StudySummary {
  readonly studyId: number;
  readonly studyName: string;
  readonly directions: readonly StudyDirection[];
  readonly userAttrs: Readonly<Record<string, unknown>>;
  readonly systemAttrs: Readonly<Record<string, unknown>>;
}
