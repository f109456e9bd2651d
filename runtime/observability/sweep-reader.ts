import fs from 'node:fs';
import Database from 'better-sqlite3';
import { PosttrainError } from '../errors.ts';
import type {
  OptunaDirection,
  OptunaDistribution,
  OptunaStudyDirectionRow,
  OptunaStudyRow,
  OptunaTrialIntermediateValueRow,
  OptunaTrialParamRow,
  OptunaTrialRow,
  OptunaTrialUserAttributeRow,
  OptunaTrialValueRow,
  OptunaValueType,
  SweepData,
  SweepTrial,
} from './formats.ts';

/**
 * Read one study from a sweep database in Optuna's RDB schema (written by posttrain's sweeps or by Optuna itself).
 * Opened read-only, so a report can be drawn while the sweep is still writing (WAL).
 *
 * @example
 * const sweep = readSweep('runs/sweeps.db', { studyName: 'ppo-lr' });
 * sweep.trials.filter((trial) => trial.state === 'PRUNED').length;
 */
export function readSweep(dbPath: string, options: { studyName?: string } = {}): SweepData {
  if (!fs.existsSync(dbPath)) {
    throw new PosttrainError('SWEEP_NOT_FOUND', `no sweep database at ${dbPath}`, { path: dbPath });
  }
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const study = pickStudy(db, dbPath, options.studyName);
    const directions = db
      .prepare('SELECT * FROM study_directions WHERE study_id = ? ORDER BY objective')
      .all(study.study_id) as OptunaStudyDirectionRow[];
    const trialRows = db
      .prepare('SELECT * FROM trials WHERE study_id = ? ORDER BY number')
      .all(study.study_id) as OptunaTrialRow[];
    const ofStudy = (table: string, order: string): unknown[] =>
      db
        .prepare(`SELECT t.* FROM ${table} t JOIN trials USING (trial_id) WHERE trials.study_id = ? ORDER BY ${order}`)
        .all(study.study_id);
    const params = groupByTrial(ofStudy('trial_params', 't.param_id') as OptunaTrialParamRow[]);
    const values = groupByTrial(ofStudy('trial_values', 't.objective') as OptunaTrialValueRow[]);
    const intermediate = groupByTrial(
      ofStudy('trial_intermediate_values', 't.step') as OptunaTrialIntermediateValueRow[],
    );
    const attributes = groupByTrial(ofStudy('trial_user_attributes', 't.key') as OptunaTrialUserAttributeRow[]);

    const trials = trialRows.map((row): SweepTrial => {
      const decodedParams: SweepTrial['params'] = {};
      const distributions: SweepTrial['distributions'] = {};
      for (const param of params.get(row.trial_id) ?? []) {
        const distribution = JSON.parse(param.distribution_json) as OptunaDistribution;
        distributions[param.param_name] = distribution;
        decodedParams[param.param_name] =
          distribution.name === 'CategoricalDistribution'
            ? (distribution.attributes.choices[param.param_value] ?? null)
            : param.param_value;
      }
      const objective = (values.get(row.trial_id) ?? []).find((value) => value.objective === 0);
      return {
        number: row.number,
        state: row.state,
        value: objective ? decodeValue(objective.value, objective.value_type) : undefined,
        params: decodedParams,
        distributions,
        intermediate: (intermediate.get(row.trial_id) ?? []).map((point) => ({
          step: point.step,
          value: decodeValue(point.intermediate_value, point.intermediate_value_type),
        })),
        userAttributes: Object.fromEntries(
          (attributes.get(row.trial_id) ?? []).map((attribute) => [attribute.key, JSON.parse(attribute.value_json)]),
        ),
        durationSeconds: durationSeconds(row.datetime_start, row.datetime_complete),
        datetimeStart: row.datetime_start,
      };
    });
    return {
      dbPath,
      studyName: study.study_name,
      direction: (directions[0]?.direction ?? 'MINIMIZE') as OptunaDirection,
      trials,
    };
  } finally {
    db.close();
  }
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
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT study_name FROM studies ORDER BY study_id').all() as OptunaStudyRow[]).map(
      (row) => row.study_name,
    );
  } finally {
    db.close();
  }
}

function pickStudy(db: Database.Database, dbPath: string, studyName: string | undefined): OptunaStudyRow {
  let studies: OptunaStudyRow[];
  try {
    studies = db.prepare('SELECT study_id, study_name FROM studies ORDER BY study_id').all() as OptunaStudyRow[];
  } catch (error) {
    throw new PosttrainError('SWEEP_INVALID', `${dbPath} is not an Optuna study database (${(error as Error).message})`, {
      path: dbPath,
    });
  }
  const names = studies.map((study) => study.study_name).join(', ') || '(none)';
  if (studyName === undefined) {
    if (studies.length === 1) return studies[0] as OptunaStudyRow;
    throw new PosttrainError(
      'STUDY_AMBIGUOUS',
      `${dbPath} holds ${studies.length} studies; name one (studies: ${names})`,
      { path: 'studyName' },
    );
  }
  const study = studies.find((candidate) => candidate.study_name === studyName);
  if (!study) {
    throw new PosttrainError('STUDY_NOT_FOUND', `no study "${studyName}" in ${dbPath} (studies: ${names})`, {
      path: 'studyName',
    });
  }
  return study;
}

function groupByTrial<Row extends { trial_id: number }>(rows: Row[]): Map<number, Row[]> {
  const groups = new Map<number, Row[]>();
  for (const row of rows) {
    const group = groups.get(row.trial_id) ?? [];
    group.push(row);
    groups.set(row.trial_id, group);
  }
  return groups;
}

/** Optuna stores non-finite values as NULL plus a type column. */
function decodeValue(value: number | null, type: OptunaValueType): number {
  if (type === 'INF_POS') return Number.POSITIVE_INFINITY;
  if (type === 'INF_NEG') return Number.NEGATIVE_INFINITY;
  if (type === 'NAN' || value === null) return Number.NaN;
  return value;
}

/** Optuna's datetimes are naive UTC text: `2024-01-02 03:04:05.678901`. */
function durationSeconds(start: string | null, complete: string | null): number | undefined {
  if (!start || !complete) return undefined;
  const parse = (text: string): number => Date.parse(`${text.replace(' ', 'T').slice(0, 23)}Z`);
  const seconds = (parse(complete) - parse(start)) / 1000;
  return Number.isFinite(seconds) ? seconds : undefined;
}
