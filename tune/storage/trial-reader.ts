import type { Database, Statement } from 'better-sqlite3';
import { type Distribution, distributionFromJson, toExternal, type ParamValue } from '../distributions.ts';
import { type FrozenTrial, isFinished, type TrialState } from '../types.ts';
import { parseOptunaDatetime } from './datetime.ts';
import { parsePythonJson } from './python-json.ts';

interface TrialRow {
  trial_id: number;
  number: number;
  state: TrialState;
  datetime_start: string | null;
  datetime_complete: string | null;
}
interface ParamRow { trial_id: number; param_name: string; param_value: number; distribution_json: string }
interface ValueRow { trial_id: number; objective: number; value: number | null; value_type: string }
interface IntermediateRow { trial_id: number; step: number; intermediate_value: number | null; intermediate_value_type: string }
interface AttributeRow { trial_id: number; key: string; value_json: string }

/** Stored value + type column -> number (Optuna's `stored_repr_to_value`). */
export function storedToNumber(value: number | null, type: string): number {
  if (type === 'INF_POS') return Infinity;
  if (type === 'INF_NEG') return -Infinity;
  if (type === 'NAN') return NaN;
  return value ?? NaN;
}

/**
 * Builds FrozenTrials from Optuna's tables, six set-based queries per read whatever the trial count.
 * Finished trials never change (every write checks the state first, in Optuna too), so they are cached per study
 * and only unfinished or new trials are read again; that keeps TPE and pruners cheap as studies grow.
 */
export class TrialReader {
  private readonly finished = new Map<number, Map<number, FrozenTrial>>();
  private readonly distributionCache = new Map<string, Distribution>();
  private readonly trialRows: Statement;
  private readonly trialRow: Statement;
  private readonly childQueries: { params: Statement; values: Statement; intermediate: Statement; user: Statement; system: Statement };

  constructor(db: Database) {
    const columns = 'trial_id, number, state, datetime_start, datetime_complete';
    this.trialRows = db.prepare(`SELECT ${columns} FROM trials WHERE study_id = ? ORDER BY trial_id`);
    this.trialRow = db.prepare(`SELECT ${columns} FROM trials WHERE trial_id = ?`);
    const forIds = 'WHERE trial_id IN (SELECT value FROM json_each(?))';
    this.childQueries = {
      params: db.prepare(`SELECT trial_id, param_name, param_value, distribution_json FROM trial_params ${forIds} ORDER BY param_id`),
      values: db.prepare(`SELECT trial_id, objective, value, value_type FROM trial_values ${forIds} ORDER BY objective`),
      intermediate: db.prepare(
        `SELECT trial_id, step, intermediate_value, intermediate_value_type FROM trial_intermediate_values ${forIds} ORDER BY step`,
      ),
      user: db.prepare(`SELECT trial_id, "key" AS key, value_json FROM trial_user_attributes ${forIds} ORDER BY trial_user_attribute_id`),
      system: db.prepare(
        `SELECT trial_id, "key" AS key, value_json FROM trial_system_attributes ${forIds} ORDER BY trial_system_attribute_id`,
      ),
    };
  }

  /** All trials of a study in creation order, optionally only some states. */
  readAll(studyId: number, states?: readonly TrialState[]): FrozenTrial[] {
    const rows = this.trialRows.all(studyId) as TrialRow[];
    let cache = this.finished.get(studyId);
    if (!cache) this.finished.set(studyId, (cache = new Map()));
    const wanted = states ? rows.filter((row) => states.includes(row.state)) : rows;
    const toLoad = wanted.filter((row) => !cache.has(row.trial_id));
    const loaded = this.load(toLoad);
    for (const trial of loaded.values()) if (isFinished(trial.state)) cache.set(trial.trialId, trial);
    return wanted.map((row) => cache.get(row.trial_id) ?? loaded.get(row.trial_id)!);
  }

  /** One trial by id (never cached, so it reflects writes from other processes). */
  readOne(trialId: number): FrozenTrial | undefined {
    const row = this.trialRow.get(trialId) as TrialRow | undefined;
    return row ? this.load([row]).get(trialId) : undefined;
  }

  /** Parses a stored distribution once per distinct JSON text. */
  distribution(json: string): Distribution {
    let distribution = this.distributionCache.get(json);
    if (!distribution) this.distributionCache.set(json, (distribution = distributionFromJson(json)));
    return distribution;
  }

  /** Drops a study's cached trials (after the study is deleted). */
  forget(studyId: number): void {
    this.finished.delete(studyId);
  }

  private load(rows: TrialRow[]): Map<number, FrozenTrial> {
    const result = new Map<number, FrozenTrial>();
    if (rows.length === 0) return result;
    const ids = JSON.stringify(rows.map((row) => row.trial_id));
    const parts = new Map(
      rows.map((row) => [
        row.trial_id,
        {
          params: {} as Record<string, ParamValue>,
          distributions: {} as Record<string, Distribution>,
          values: [] as number[],
          intermediate: new Map<number, number>(),
          user: {} as Record<string, unknown>,
          system: {} as Record<string, unknown>,
        },
      ]),
    );
    for (const row of this.childQueries.params.all(ids) as ParamRow[]) {
      const part = parts.get(row.trial_id)!;
      const distribution = this.distribution(row.distribution_json);
      part.distributions[row.param_name] = distribution;
      part.params[row.param_name] = toExternal(distribution, row.param_value);
    }
    for (const row of this.childQueries.values.all(ids) as ValueRow[]) {
      parts.get(row.trial_id)!.values[row.objective] = storedToNumber(row.value, row.value_type);
    }
    for (const row of this.childQueries.intermediate.all(ids) as IntermediateRow[]) {
      parts.get(row.trial_id)!.intermediate.set(row.step, storedToNumber(row.intermediate_value, row.intermediate_value_type));
    }
    for (const row of this.childQueries.user.all(ids) as AttributeRow[]) parts.get(row.trial_id)!.user[row.key] = parsePythonJson(row.value_json);
    for (const row of this.childQueries.system.all(ids) as AttributeRow[]) parts.get(row.trial_id)!.system[row.key] = parsePythonJson(row.value_json);
    for (const row of rows) {
      const part = parts.get(row.trial_id)!;
      const values = part.values.length > 0 ? part.values : undefined;
      let lastStep: number | undefined;
      for (const step of part.intermediate.keys()) if (lastStep === undefined || step > lastStep) lastStep = step;
      result.set(row.trial_id, {
        trialId: row.trial_id,
        number: row.number,
        state: row.state,
        value: values?.length === 1 ? values[0] : undefined,
        values,
        datetimeStart: parseOptunaDatetime(row.datetime_start),
        datetimeComplete: parseOptunaDatetime(row.datetime_complete),
        params: part.params,
        distributions: part.distributions,
        userAttrs: part.user,
        systemAttrs: part.system,
        intermediateValues: part.intermediate,
        lastStep,
      });
    }
    return result;
  }
}
