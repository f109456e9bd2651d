import { PosttrainError } from '../runtime/errors.ts';

/**
 * Thrown (by an objective, or by `runSweep` on a pruned trial) to stop a trial early; the study records the trial
 * as PRUNED with its last intermediate value, as Optuna's `optuna.TrialPruned` does.
 *
 * @example
 * if (trial.shouldPrune()) throw new TrialPruned();
 */
export class TrialPruned extends PosttrainError {
  constructor(message = 'trial pruned') {
    super('TRIAL_PRUNED', message);
  }
}

/** The study database refused an operation or has a shape posttrain cannot use (names the database and why). */
export class StudyStorageError extends PosttrainError {
  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super('STUDY_STORAGE', message, options);
  }
}

/** `createStudy` found a study with the requested name and `loadIfExists` was not set. */
export class DuplicatedStudyError extends PosttrainError {
  constructor(studyName: string) {
    super(
      'STUDY_EXISTS',
      `a study named '${studyName}' already exists; pass loadIfExists: true to continue it or pick another studyName`,
      { path: 'studyName' },
    );
  }
}

/** No study (or trial) with the given name / number exists in the storage. */
export class StudyNotFoundError extends PosttrainError {
  constructor(message: string, path = 'studyName') {
    super('STUDY_NOT_FOUND', message, { path });
  }
}

/** A trial was written to after it finished (COMPLETE, PRUNED or FAIL trials are immutable, as in Optuna). */
export class TrialFinishedError extends PosttrainError {
  constructor(trialNumber: number, state: string, action: string) {
    super('TRIAL_FINISHED', `cannot ${action}: trial ${trialNumber} is already ${state}`, { path: `trial ${trialNumber}` });
  }
}
