import fs from 'node:fs';
import { PosttrainError } from '../runtime/errors.ts';
import { StudyStorageError } from '../tune/errors.ts';
import { SqliteStorage } from '../tune/storage/sqlite-storage.ts';
import type { FrozenTrial, StudySummary } from '../tune/types.ts';
import type { SweepData, SweepTrial } from './formats.ts';

/**
 * Read one study from a sweep database in Optuna's RDB schema (written by posttrain's sweeps or by Optuna itself),
 * through tune/storage: the one reader of Optuna's tables. Opened read-only, so a report can be drawn while the sweep
 * is still writing (WAL).
 *
 * @example
 * const sweep = readSweep('runs/sweeps.db', { studyName: 'ppo-lr' });
 * sweep.trials.filter((trial) => trial.state === 'PRUNED').length;
 */
export function readSweep(dbPath: string, options: { studyName?: string } = {}): SweepData {
  return withStorage(dbPath, (storage) => {
    const study = pickStudy(storage.getAllStudies(), dbPath, options.studyName);
    return {
      dbPath,
      studyName: study.studyName,
      direction: study.directions[0] ?? 'MINIMIZE',
      trials: storage.getAllTrials(study.studyId).map(sweepTrial),
    };
  });
}

/**
 * The best COMPLETE trial for the study's direction (Optuna's `best_trial`), or undefined when none completed.
 *
 * @example
 * bestTrial(readSweep('runs/sweeps.db'))?.params;
 */
export function bestTrial(sweep: SweepData): SweepTrial | undefined {
  const sign = sweep.direction === 'MAXIMIZE' ? -1 : 1;
  let best: SweepTrial | undefined;
  for (const trial of sweep.trials) {
    if (trial.state !== 'COMPLETE' || trial.value === undefined || Number.isNaN(trial.value)) continue;
    if (best === undefined || sign * trial.value < sign * (best.value as number)) best = trial;
  }
  return best;
}

/**
 * Names of the studies in a sweep database.
 *
 * @example
 * listStudies('runs/sweeps.db'); // ['ppo-lr', 'dpo-beta']
 */
export function listStudies(dbPath: string): string[] {
  return withStorage(dbPath, (storage) => storage.getAllStudies().map((study) => study.studyName));
}

function withStorage<T>(dbPath: string, body: (storage: SqliteStorage) => T): T {
  if (!fs.existsSync(dbPath)) {
    throw new PosttrainError('SWEEP_NOT_FOUND', `no sweep database at ${dbPath}`, { path: dbPath });
  }
  let storage: SqliteStorage;
  try {
    storage = SqliteStorage.open(dbPath, { readonly: true, busyTimeoutMs: 5000 });
  } catch (error) {
    if (!(error instanceof StudyStorageError)) throw error;
    throw new PosttrainError('SWEEP_INVALID', error.message, { path: dbPath, cause: error });
  }
  try {
    return body(storage);
  } finally {
    storage.close();
  }
}

function sweepTrial(trial: FrozenTrial): SweepTrial {
  const start = trial.datetimeStart?.getTime();
  const complete = trial.datetimeComplete?.getTime();
  return {
    number: trial.number,
    state: trial.state,
    value: trial.values?.[0],
    params: { ...trial.params },
    distributions: { ...trial.distributions },
    intermediate: [...trial.intermediateValues].map(([step, value]) => ({ step, value })).sort((a, b) => a.step - b.step),
    userAttributes: { ...trial.userAttrs },
    durationSeconds: start !== undefined && complete !== undefined ? (complete - start) / 1000 : undefined,
    datetimeStart: trial.datetimeStart,
  };
}

function pickStudy(studies: StudySummary[], dbPath: string, studyName: string | undefined): StudySummary {
  const names = studies.map((study) => study.studyName).join(', ') || '(none)';
  if (studyName === undefined) {
    if (studies.length === 1) return studies[0]!;
    throw new PosttrainError('STUDY_AMBIGUOUS', `${dbPath} holds ${studies.length} studies; name one (studies: ${names})`, {
      path: 'studyName',
    });
  }
  const study = studies.find((candidate) => candidate.studyName === studyName);
  if (!study) {
    throw new PosttrainError('STUDY_NOT_FOUND', `no study "${studyName}" in ${dbPath} (studies: ${names})`, { path: 'studyName' });
  }
  return study;
}
