import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { checkCompatibility, type Distribution, distributionToJson, toInternal, type ParamValue } from '../distributions.ts';
import { DuplicatedStudyError, StudyNotFoundError, StudyStorageError, TrialFinishedError } from '../errors.ts';
import { type FrozenTrial, isFinished, type StudyDirection, type StudySummary, TrialState } from '../types.ts';
import { optunaNow } from './datetime.ts';
import { parsePythonJson, toPythonJson } from './python-json.ts';
import { checkSchema, DEFAULT_REVISION, ensureSchema, type OptunaSchemaRevision } from './schema.ts';
import { parseStorageUrl } from './storage-url.ts';
import { TrialReader } from './trial-reader.ts';

/** How a storage opens its database. */
export interface SqliteStorageOptions {
  /** Alembic revision for a NEW database (existing ones keep theirs). Default `v3.2.0.a` (Optuna >= 3.2). */
  schemaRevision?: OptunaSchemaRevision;
  /** How long a write waits for another process's lock before failing. Default 60 s. */
  busyTimeoutMs?: number;
  /**
   * SQLite `synchronous`. `NORMAL` (default) with WAL survives any process crash and loses at most the last
   * commits on power loss or an OS crash; `FULL` fsyncs every commit.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * Open an existing database for reading only (reports, `recipe status`): nothing is created or written, so a
   * study can be read while a sweep writes it (WAL). Writes then fail with SQLite's "readonly database".
   */
  readonly?: boolean;
}

/** The fields of a trial created from a template (enqueue, retry, add). */
export interface TrialTemplate {
  state: TrialState;
  params?: Record<string, { value: ParamValue; distribution: Distribution }>;
  values?: readonly number[];
  userAttrs?: Record<string, unknown>;
  systemAttrs?: Record<string, unknown>;
  intermediateValues?: ReadonlyMap<number, number>;
}

/** Value -> (value column, type column) for `trial_values` (no NaN) or `trial_intermediate_values`. */
function numberToStored(value: number): [number | null, string] {
  if (value === Infinity) return [null, 'INF_POS'];
  if (value === -Infinity) return [null, 'INF_NEG'];
  if (Number.isNaN(value)) return [null, 'NAN'];
  return [value, 'FINITE'];
}

/**
 * Optuna's RDB storage on SQLite through better-sqlite3: the same tables, rows and JSON that Optuna writes, so
 * Optuna (and optuna-dashboard) read posttrain studies and posttrain continues Optuna's. WAL mode, a busy timeout
 * and IMMEDIATE write transactions let many processes report into one file without losing a write.
 *
 * Calls are synchronous (better-sqlite3); a write is one short transaction.
 *
 * @example
 * const storage = SqliteStorage.open('sqlite:///runs/sweeps.db');
 * const studyId = storage.createStudy(['MINIMIZE'], 'lr-sweep');
 */
export class SqliteStorage {
  /** The database file ('' for in-memory) and the URL it came from. */
  readonly filename: string;
  readonly url: string;
  /** Alembic revision of this database, left as found. */
  readonly revision: OptunaSchemaRevision;
  readonly db: Database;
  private readonly reader: TrialReader;
  private readonly statements: ReturnType<typeof prepareStatements>;
  /** study id -> param name -> the distribution first stored for it (Optuna checks new ones against it). */
  private readonly firstDistributions = new Map<number, Map<string, Distribution>>();

  private constructor(url: string, filename: string, options: SqliteStorageOptions) {
    this.url = url;
    this.filename = filename;
    if (filename !== ':memory:' && !options.readonly) mkdirSync(dirname(filename), { recursive: true });
    try {
      if (options.readonly) {
        this.db = new BetterSqlite3(filename, { readonly: true, fileMustExist: true, timeout: options.busyTimeoutMs ?? 60_000 });
        this.revision = checkSchema(this.db, url);
      } else {
        this.db = new BetterSqlite3(filename, { timeout: options.busyTimeoutMs ?? 60_000 });
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
        this.revision = ensureSchema(this.db, options.schemaRevision ?? DEFAULT_REVISION, url);
      }
    } catch (error) {
      (this as { db?: Database }).db?.close();
      if (error instanceof StudyStorageError) throw error;
      throw new StudyStorageError(`cannot open study database ${url}: ${(error as Error).message}`, { path: 'storage', cause: error });
    }
    this.reader = new TrialReader(this.db);
    this.statements = prepareStatements(this.db);
  }

  /**
   * Opens (creating if needed) the database at a `sqlite:///` URL or a path.
   *
   * @example
   * SqliteStorage.open('sqlite:////tmp/study.db', { schemaRevision: 'v3.0.0.d' }); // for Optuna 3.0/3.1 users
   */
  static open(url: string, options: SqliteStorageOptions = {}): SqliteStorage {
    const location = parseStorageUrl(url);
    return new SqliteStorage(url, location.filename, options);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- studies -------------------------------------------------------------------------------------------------

  /** Creates a study; throws DuplicatedStudyError if the name is taken. */
  createStudy(directions: readonly StudyDirection[], studyName: string): number {
    return this.write(() => {
      if (this.statements.studyIdByName.get(studyName)) throw new DuplicatedStudyError(studyName);
      const studyId = Number(this.statements.insertStudy.run(studyName).lastInsertRowid);
      directions.forEach((direction, objective) => this.statements.insertDirection.run(direction, studyId, objective));
      return studyId;
    });
  }

  getStudyId(studyName: string): number | undefined {
    return (this.statements.studyIdByName.get(studyName) as { study_id: number } | undefined)?.study_id;
  }

  getStudy(studyId: number): StudySummary {
    const row = this.statements.studyById.get(studyId) as { study_id: number; study_name: string } | undefined;
    if (!row) throw new StudyNotFoundError(`no study with id ${studyId} in ${this.url}`, 'studyId');
    const directions = (this.statements.directions.all(studyId) as { direction: StudyDirection }[]).map((d) => d.direction);
    const attributes = (statement: Statement): Record<string, unknown> =>
      Object.fromEntries((statement.all(studyId) as { key: string; value_json: string }[]).map((a) => [a.key, parsePythonJson(a.value_json)]));
    return {
      studyId,
      studyName: row.study_name,
      directions,
      userAttrs: attributes(this.statements.studyUserAttrs),
      systemAttrs: attributes(this.statements.studySystemAttrs),
    };
  }

  getAllStudies(): StudySummary[] {
    return (this.statements.allStudyIds.all() as { study_id: number }[]).map((row) => this.getStudy(row.study_id));
  }

  /** Deletes a study and everything under it (Optuna's cascade). */
  deleteStudy(studyId: number): void {
    this.write(() => {
      const trials = `(SELECT trial_id FROM trials WHERE study_id = ${Number(studyId)})`;
      for (const child of ['trial_params', 'trial_values', 'trial_intermediate_values', 'trial_user_attributes', 'trial_system_attributes', 'trial_heartbeats']) {
        this.db.prepare(`DELETE FROM ${child} WHERE trial_id IN ${trials}`).run();
      }
      for (const table of ['trials', 'study_directions', 'study_user_attributes', 'study_system_attributes', 'studies']) {
        this.db.prepare(`DELETE FROM ${table} WHERE study_id = ?`).run(studyId);
      }
    });
    this.reader.forget(studyId);
    this.firstDistributions.delete(studyId);
  }

  setStudyUserAttr(studyId: number, key: string, value: unknown): void {
    this.write(() => this.statements.upsertStudyUserAttr.run(studyId, key, toPythonJson(value)));
  }

  setStudySystemAttr(studyId: number, key: string, value: unknown): void {
    this.write(() => this.statements.upsertStudySystemAttr.run(studyId, key, toPythonJson(value)));
  }

  // ---- trials: creation and state ------------------------------------------------------------------------------

  /** Creates a RUNNING trial (or one from a template) and returns its id and per-study number. */
  createTrial(studyId: number, template?: TrialTemplate): { trialId: number; number: number } {
    return this.write(() => {
      const number = (this.statements.countTrials.get(studyId) as { count: number }).count;
      const now = optunaNow();
      const state = template?.state ?? TrialState.RUNNING;
      const start = state === 'WAITING' ? null : now;
      const complete = isFinished(state) ? now : null;
      // Like Optuna, fields are written while the trial is RUNNING and the final state is set last.
      const trialId = Number(this.statements.insertTrial.run(number, studyId, 'RUNNING', start, complete).lastInsertRowid);
      if (template) {
        for (const [name, { value, distribution }] of Object.entries(template.params ?? {})) {
          this.insertParam(studyId, trialId, name, toInternal(distribution, value), distribution);
        }
        template.values?.forEach((value, objective) => this.statements.upsertValue.run(trialId, objective, ...numberToStored(value)));
        for (const [key, value] of Object.entries(template.userAttrs ?? {})) this.statements.upsertTrialUserAttr.run(trialId, key, toPythonJson(value));
        for (const [key, value] of Object.entries(template.systemAttrs ?? {})) this.statements.upsertTrialSystemAttr.run(trialId, key, toPythonJson(value));
        for (const [step, value] of template.intermediateValues ?? []) this.statements.upsertIntermediate.run(trialId, step, ...numberToStored(value));
        if (state !== 'RUNNING') this.statements.setState.run(state, trialId);
      }
      return { trialId, number };
    });
  }

  /**
   * Moves the oldest WAITING trial of a study to RUNNING (atomically, so two processes never take the same one)
   * and returns its id; `undefined` when none waits. Optuna's `_pop_waiting_trial_id`.
   */
  popWaitingTrial(studyId: number): number | undefined {
    return this.write(() => {
      const row = this.statements.firstWaiting.get(studyId) as { trial_id: number } | undefined;
      if (!row) return undefined;
      this.statements.startWaiting.run(optunaNow(), row.trial_id);
      return row.trial_id;
    });
  }

  /**
   * Runs `body` as one write transaction: its writes (this storage's own calls nest inside it) land together or,
   * if it throws or the process dies first, not at all.
   */
  atomically<T>(body: () => T): T {
    return this.write(body);
  }

  /**
   * Starts a trial in one transaction: takes the oldest WAITING trial (else creates a RUNNING one), stores
   * `systemAttrs` on it and, with `heartbeat`, writes its first heartbeat. A process killed at any moment leaves
   * either no new trial or one that carries its owner and heartbeat, so a later sweep can tell it was lost.
   */
  startTrial(studyId: number, claim: { systemAttrs?: Record<string, unknown>; heartbeat?: boolean } = {}): number {
    return this.write(() => {
      const trialId = this.popWaitingTrial(studyId) ?? this.createTrial(studyId).trialId;
      for (const [key, value] of Object.entries(claim.systemAttrs ?? {})) this.statements.upsertTrialSystemAttr.run(trialId, key, toPythonJson(value));
      if (claim.heartbeat) this.statements.heartbeat.run(trialId);
      return trialId;
    });
  }

  /**
   * Optuna's `set_trial_state_values`: stores values, then the state (RUNNING only from WAITING; finished states
   * stamp `datetime_complete`). Returns false when a RUNNING request finds the trial not WAITING.
   */
  setTrialStateValues(trialId: number, state: TrialState, values?: readonly number[]): boolean {
    return this.write(() => {
      this.requireUpdatable(trialId, `set state ${state}`);
      values?.forEach((value, objective) => this.statements.upsertValue.run(trialId, objective, ...numberToStored(value)));
      const current = (this.statements.trialState.get(trialId) as { state: TrialState }).state;
      if (state === 'RUNNING') {
        if (current !== 'WAITING') return false;
        this.statements.startWaiting.run(optunaNow(), trialId);
        return true;
      }
      if (isFinished(state)) this.statements.finish.run(state, optunaNow(), trialId);
      else this.statements.setState.run(state, trialId);
      return true;
    });
  }

  // ---- trials: fields ------------------------------------------------------------------------------------------

  /** Stores a parameter (internal value), checking the distribution against the study's first one for the name. */
  setTrialParam(trialId: number, name: string, internal: number, distribution: Distribution): void {
    this.write(() => {
      const { studyId } = this.requireUpdatable(trialId, `set parameter '${name}'`);
      this.insertParam(studyId, trialId, name, internal, distribution);
    });
  }

  setTrialIntermediateValue(trialId: number, step: number, value: number): void {
    this.write(() => {
      this.requireUpdatable(trialId, `report step ${step}`);
      this.statements.upsertIntermediate.run(trialId, step, ...numberToStored(value));
    });
  }

  setTrialUserAttr(trialId: number, key: string, value: unknown): void {
    this.write(() => {
      this.requireUpdatable(trialId, `set user attribute '${key}'`);
      this.statements.upsertTrialUserAttr.run(trialId, key, toPythonJson(value));
    });
  }

  setTrialSystemAttr(trialId: number, key: string, value: unknown): void {
    this.write(() => {
      this.requireUpdatable(trialId, `set system attribute '${key}'`);
      this.statements.upsertTrialSystemAttr.run(trialId, key, toPythonJson(value));
    });
  }

  // ---- trials: reads -------------------------------------------------------------------------------------------

  /** All trials of a study (creation order) from one consistent snapshot. */
  getAllTrials(studyId: number, states?: readonly TrialState[]): FrozenTrial[] {
    return this.db.transaction(() => this.reader.readAll(studyId, states))();
  }

  getTrial(trialId: number): FrozenTrial {
    const trial = this.db.transaction(() => this.reader.readOne(trialId))();
    if (!trial) throw new StudyNotFoundError(`no trial with id ${trialId} in ${this.url}`, 'trialId');
    return trial;
  }

  getTrialIdByNumber(studyId: number, number: number): number | undefined {
    return (this.statements.trialIdByNumber.get(studyId, number) as { trial_id: number } | undefined)?.trial_id;
  }

  /**
   * The best COMPLETE trial for a single objective. Infinite values rank by their type first, as in Optuna >= 3.2
   * (Optuna 3.1 sorted their NULL value column, which put +inf first when minimizing).
   */
  getBestTrial(studyId: number, direction: StudyDirection): FrozenTrial | undefined {
    const statement = direction === 'MAXIMIZE' ? this.statements.bestMax : this.statements.bestMin;
    const row = statement.get(studyId) as { trial_id: number } | undefined;
    return row ? this.getTrial(row.trial_id) : undefined;
  }

  // ---- heartbeats ----------------------------------------------------------------------------------------------

  /** Writes `trial_heartbeats` with the database clock, exactly as Optuna does (UTC, whole seconds). */
  recordHeartbeat(trialId: number): void {
    this.write(() => this.statements.heartbeat.run(trialId));
  }

  /** RUNNING trials whose last heartbeat is older than the grace period (Optuna's `_get_stale_trial_ids`). */
  getStaleTrialIds(studyId: number, gracePeriodSeconds: number): number[] {
    return (this.statements.staleTrials.all(studyId, gracePeriodSeconds) as { trial_id: number }[]).map((row) => row.trial_id);
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  /** Runs a write in an IMMEDIATE transaction: the lock is taken up front so concurrent writers queue on the busy timeout. */
  private write<T>(body: () => T): T {
    try {
      return this.db.transaction(body).immediate();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        throw new StudyStorageError(`study database ${this.url} stayed locked past the busy timeout; another process holds it`, { cause: error });
      }
      throw error;
    }
  }

  private requireUpdatable(trialId: number, action: string): { studyId: number } {
    const row = this.statements.trialHead.get(trialId) as { study_id: number; number: number; state: TrialState } | undefined;
    if (!row) throw new StudyNotFoundError(`no trial with id ${trialId} in ${this.url}`, 'trialId');
    if (isFinished(row.state)) throw new TrialFinishedError(row.number, row.state, action);
    return { studyId: row.study_id };
  }

  private insertParam(studyId: number, trialId: number, name: string, internal: number, distribution: Distribution): void {
    let known = this.firstDistributions.get(studyId);
    if (!known) this.firstDistributions.set(studyId, (known = new Map()));
    let first = known.get(name);
    if (!first) {
      const row = this.statements.firstDistribution.get(studyId, name) as { distribution_json: string } | undefined;
      if (row) known.set(name, (first = this.reader.distribution(row.distribution_json)));
    }
    if (first) checkCompatibility(name, first, distribution);
    this.statements.upsertParam.run(trialId, name, internal, distributionToJson(distribution));
  }
}

function prepareStatements(db: Database) {
  const attributeUpsert = (table: string, owner: string): Statement =>
    db.prepare(
      `INSERT INTO ${table} (${owner}, "key", value_json) VALUES (?, ?, ?) ON CONFLICT (${owner}, "key") DO UPDATE SET value_json = excluded.value_json`,
    );
  const best = (order: 'ASC' | 'DESC'): Statement =>
    db.prepare(
      `SELECT t.trial_id FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id
       WHERE t.study_id = ? AND t.state = 'COMPLETE' AND v.objective = 0
       ORDER BY CASE v.value_type WHEN 'INF_NEG' THEN -1 WHEN 'FINITE' THEN 0 ELSE 1 END ${order}, v.value ${order}, t.trial_id ASC LIMIT 1`,
    );
  return {
    studyIdByName: db.prepare('SELECT study_id FROM studies WHERE study_name = ?'),
    studyById: db.prepare('SELECT study_id, study_name FROM studies WHERE study_id = ?'),
    allStudyIds: db.prepare('SELECT study_id FROM studies ORDER BY study_id'),
    insertStudy: db.prepare('INSERT INTO studies (study_name) VALUES (?)'),
    insertDirection: db.prepare('INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)'),
    directions: db.prepare('SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective'),
    studyUserAttrs: db.prepare('SELECT "key" AS key, value_json FROM study_user_attributes WHERE study_id = ?'),
    studySystemAttrs: db.prepare('SELECT "key" AS key, value_json FROM study_system_attributes WHERE study_id = ?'),
    upsertStudyUserAttr: attributeUpsert('study_user_attributes', 'study_id'),
    upsertStudySystemAttr: attributeUpsert('study_system_attributes', 'study_id'),
    countTrials: db.prepare('SELECT count(*) AS count FROM trials WHERE study_id = ?'),
    insertTrial: db.prepare('INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) VALUES (?, ?, ?, ?, ?)'),
    setState: db.prepare('UPDATE trials SET state = ? WHERE trial_id = ?'),
    finish: db.prepare('UPDATE trials SET state = ?, datetime_complete = ? WHERE trial_id = ?'),
    startWaiting: db.prepare("UPDATE trials SET state = 'RUNNING', datetime_start = ? WHERE trial_id = ?"),
    firstWaiting: db.prepare("SELECT trial_id FROM trials WHERE study_id = ? AND state = 'WAITING' ORDER BY trial_id LIMIT 1"),
    trialState: db.prepare('SELECT state FROM trials WHERE trial_id = ?'),
    trialHead: db.prepare('SELECT study_id, number, state FROM trials WHERE trial_id = ?'),
    trialIdByNumber: db.prepare('SELECT trial_id FROM trials WHERE study_id = ? AND number = ?'),
    firstDistribution: db.prepare(
      'SELECT p.distribution_json FROM trial_params p JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = ? AND p.param_name = ? ORDER BY p.param_id LIMIT 1',
    ),
    upsertParam: db.prepare(
      'INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (trial_id, param_name) DO UPDATE SET param_value = excluded.param_value, distribution_json = excluded.distribution_json',
    ),
    upsertValue: db.prepare(
      'INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, value_type = excluded.value_type',
    ),
    upsertIntermediate: db.prepare(
      'INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value = excluded.intermediate_value, intermediate_value_type = excluded.intermediate_value_type',
    ),
    upsertTrialUserAttr: attributeUpsert('trial_user_attributes', 'trial_id'),
    upsertTrialSystemAttr: attributeUpsert('trial_system_attributes', 'trial_id'),
    bestMin: best('ASC'),
    bestMax: best('DESC'),
    heartbeat: db.prepare(
      'INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, CURRENT_TIMESTAMP) ON CONFLICT (trial_id) DO UPDATE SET heartbeat = CURRENT_TIMESTAMP',
    ),
    staleTrials: db.prepare(
      `SELECT t.trial_id FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id
       WHERE t.study_id = ? AND t.state = 'RUNNING' AND (julianday(CURRENT_TIMESTAMP) - julianday(h.heartbeat)) * 86400.0 > ?`,
    ),
  };
}
