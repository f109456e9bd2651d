import { randomUUID } from 'node:crypto';
import { ConfigError } from '../runtime/errors.ts';
import { rootLogger } from '../runtime/logging.ts';
import { type Distribution, type ParamValue } from './distributions.ts';
import { StudyNotFoundError, TrialFinishedError, TrialPruned } from './errors.ts';
import { failStaleTrials, type HeartbeatOptions, startHeartbeat } from './heartbeat.ts';
import { MedianPruner } from './pruners/median-pruner.ts';
import type { Pruner } from './pruners/pruner.ts';
import type { Sampler } from './samplers/sampler.ts';
import { TpeSampler } from './samplers/tpe/tpe-sampler.ts';
import type { OptunaSchemaRevision } from './storage/schema.ts';
import { SqliteStorage } from './storage/sqlite-storage.ts';
import { parseStorageUrl } from './storage/storage-url.ts';
import type { StudyView } from './study-view.ts';
import { Trial } from './trial.ts';
import { type DirectionInput, type FrozenTrial, parseDirection, type StudyDirection, TrialState } from './types.ts';

/** Options shared by `createStudy` and `loadStudy`. */
export interface StudyOptions {
  /** `sqlite:///relative.db`, `sqlite:////absolute.db`, a path, or an open storage. Default: a private in-memory database. */
  storage?: string | SqliteStorage;
  /** Default: TPE with Optuna's defaults. */
  sampler?: Sampler;
  /** Default: median pruner with Optuna's defaults. */
  pruner?: Pruner;
  /** Record heartbeats while `optimize` runs a trial and fail trials whose heartbeat stopped. Off by default. */
  heartbeat?: HeartbeatOptions;
  /** Schema revision if the storage URL names a new database (see SqliteStorage). */
  schemaRevision?: OptunaSchemaRevision;
}

export interface CreateStudyOptions extends StudyOptions {
  /** Default: Optuna's `no-name-<uuid>`. */
  studyName?: string;
  direction?: DirectionInput;
  directions?: readonly DirectionInput[];
  /** Continue the study of this name if it exists instead of failing. */
  loadIfExists?: boolean;
}

export interface LoadStudyOptions extends StudyOptions {
  studyName: string;
}

/** The objective of `optimize`: returns the value(s), or throws TrialPruned. */
export type Objective = (trial: Trial) => number | readonly number[] | Promise<number | readonly number[]>;

export interface OptimizeOptions {
  nTrials: number;
  /** Trials in flight at once (async objectives overlap). Default 1. */
  concurrency?: number;
  /** Errors from the objective that fail the trial but do not stop `optimize` (Optuna's `catch`). */
  catch?: (error: unknown) => boolean;
  /** Called after each trial is told. */
  callback?: (study: Study, trial: FrozenTrial) => void;
}

/** A value to tell: one number, one per objective, or a final state (PRUNED / FAIL, or COMPLETE with values). */
export type TellInput = number | readonly number[] | TrialState;

const fileStorages = new Map<string, SqliteStorage>();

function openStorage(storage: StudyOptions['storage'], schemaRevision: OptunaSchemaRevision | undefined): SqliteStorage {
  if (storage instanceof SqliteStorage) return storage;
  const url = storage ?? ':memory:';
  const { filename } = parseStorageUrl(url);
  if (filename === ':memory:') return SqliteStorage.open(url, { schemaRevision });
  // One connection per database file and process: studies on one file share it and its trial cache.
  let opened = fileStorages.get(filename);
  if (!opened || !opened.db.open) fileStorages.set(filename, (opened = SqliteStorage.open(url, { schemaRevision })));
  return opened;
}

/**
 * An optimisation study stored in Optuna's schema. Mirrors Optuna's `Study` in camelCase.
 *
 * @example
 * const study = createStudy({ storage: 'sqlite:///runs/sweeps.db', studyName: 'demo', direction: 'minimize' });
 * await study.optimize((trial) => (trial.suggestFloat('x', -10, 10) - 2) ** 2, { nTrials: 50 });
 * console.log(study.bestTrial.params);
 */
export class Study {
  readonly storage: SqliteStorage;
  readonly studyId: number;
  readonly studyName: string;
  readonly directions: readonly StudyDirection[];
  readonly sampler: Sampler;
  readonly pruner: Pruner;
  readonly heartbeat: HeartbeatOptions | undefined;
  /** The read-only face samplers and pruners get. */
  readonly view: StudyView;
  private stopRequested = false;

  /** @internal Use createStudy / loadStudy. */
  constructor(storage: SqliteStorage, studyId: number, options: StudyOptions) {
    this.storage = storage;
    this.studyId = studyId;
    const summary = storage.getStudy(studyId);
    this.studyName = summary.studyName;
    this.directions = summary.directions;
    this.sampler = options.sampler ?? new TpeSampler();
    this.pruner = options.pruner ?? new MedianPruner();
    this.heartbeat = options.heartbeat;
    const study = this;
    this.view = {
      studyName: this.studyName,
      studyId,
      directions: this.directions,
      get direction() {
        return study.direction;
      },
      getTrials: (states) => storage.getAllTrials(studyId, states),
      setTrialSystemAttr: (trialId, key, value) => storage.setTrialSystemAttr(trialId, key, value),
      stop: () => this.stop(),
    };
  }

  /** The direction of a single-objective study. */
  get direction(): StudyDirection {
    if (this.directions.length !== 1) throw new ConfigError([{ path: 'direction', message: 'this study has several objectives; use directions' }]);
    return this.directions[0]!;
  }

  /** Every trial, in creation order. */
  get trials(): FrozenTrial[] {
    return this.storage.getAllTrials(this.studyId);
  }

  getTrials(states?: readonly TrialState[]): FrozenTrial[] {
    return this.storage.getAllTrials(this.studyId, states);
  }

  /** The best COMPLETE trial (single objective); throws if none has completed. */
  get bestTrial(): FrozenTrial {
    const best = this.storage.getBestTrial(this.studyId, this.direction);
    if (!best) throw new StudyNotFoundError(`study '${this.studyName}' has no COMPLETE trial yet`, 'bestTrial');
    return best;
  }

  get bestValue(): number {
    return this.bestTrial.value!;
  }

  get bestParams(): Readonly<Record<string, ParamValue>> {
    return this.bestTrial.params;
  }

  get userAttrs(): Readonly<Record<string, unknown>> {
    return this.storage.getStudy(this.studyId).userAttrs;
  }

  setUserAttr(key: string, value: unknown): void {
    this.storage.setStudyUserAttr(this.studyId, key, value);
  }

  /**
   * Starts a trial: takes the oldest enqueued (WAITING) trial if any, else creates one. Parameters in
   * `fixedDistributions` are suggested at once. `claim` is stored in the same transaction that starts the trial
   * (a sweep's owner record and first heartbeat), so no crash leaves a RUNNING trial nobody can recognise as lost.
   */
  ask(fixedDistributions: Record<string, Distribution> = {}, claim?: { systemAttrs?: Record<string, unknown>; heartbeat?: boolean }): Trial {
    const trialId = this.storage.startTrial(this.studyId, claim);
    const trial = new Trial(this.context(), this.storage.getTrial(trialId));
    if (this.sampler.beforeTrial) {
      const snapshot = trial.snapshot();
      this.sampler.beforeTrial(this.pruner.studyFor?.(this.view, snapshot) ?? this.view, snapshot);
      trial.refreshSystemAttrs();
    }
    for (const [name, distribution] of Object.entries(fixedDistributions)) trial.suggest(name, distribution);
    return trial;
  }

  /**
   * Finishes a trial (Optuna's `tell`): `tell(trial, 0.3)` completes it, `tell(trial, 'PRUNED')` prunes it with its
   * last intermediate value, `tell(trial, 'FAIL')` fails it. A NaN or missing value fails the trial.
   */
  tell(trial: Trial | number, valueOrState?: TellInput, state?: TrialState): FrozenTrial {
    const trialId = typeof trial === 'number' ? this.storage.getTrialIdByNumber(this.studyId, trial) : trial.trialId;
    if (trialId === undefined) throw new StudyNotFoundError(`study '${this.studyName}' has no trial number ${trial}`, 'trial');
    const frozen = this.storage.getTrial(trialId);
    if (frozen.state !== 'RUNNING') throw new TrialFinishedError(frozen.number, frozen.state, 'tell');
    let values: number[] | undefined;
    if (typeof valueOrState === 'string') state = valueOrState;
    else if (typeof valueOrState === 'number') values = [valueOrState];
    else if (valueOrState !== undefined) values = [...valueOrState];

    if (state === 'COMPLETE' && values === undefined) throw new ConfigError([{ path: 'tell', message: 'a COMPLETE trial needs its value(s)' }]);
    if ((state === 'PRUNED' || state === 'FAIL') && values !== undefined) {
      throw new ConfigError([{ path: 'tell', message: `values cannot be told with state ${state}` }]);
    }
    if (state !== undefined && !['COMPLETE', 'PRUNED', 'FAIL'].includes(state)) {
      throw new ConfigError([{ path: 'tell', message: `cannot tell with state ${state}; use COMPLETE, PRUNED or FAIL` }]);
    }
    if (state === 'COMPLETE') {
      const problem = this.infeasibility(values!);
      if (problem) throw new ConfigError([{ path: 'tell', message: problem }]);
    } else if (state === 'PRUNED') {
      // Optuna: a pruned trial's value is its last intermediate value (when it is a usable number).
      const last = frozen.lastStep === undefined ? undefined : frozen.intermediateValues.get(frozen.lastStep);
      if (last !== undefined && !this.infeasibility([last])) values = [last];
    } else if (state === undefined) {
      const problem = values === undefined ? 'no value was returned' : this.infeasibility(values);
      if (problem) {
        rootLogger().warn({ trial: frozen.number, values }, `trial failed: ${problem}`);
        state = TrialState.FAIL;
        values = undefined;
      } else state = TrialState.COMPLETE;
    }
    try {
      this.sampler.afterTrial?.(this.pruner.studyFor?.(this.view, frozen) ?? this.view, frozen, state!, values);
    } finally {
      this.storage.setTrialStateValues(trialId, state!, values);
    }
    return this.storage.getTrial(trialId);
  }

  /**
   * Queues a trial with fixed parameter values; the next `ask` takes it. Stored like Optuna: a WAITING trial with
   * the `fixed_params` system attribute.
   */
  enqueueTrial(params: Record<string, ParamValue>, options: { userAttrs?: Record<string, unknown>; skipIfExists?: boolean } = {}): void {
    if (options.skipIfExists && this.hasTrialWith(params)) return;
    this.storage.createTrial(this.studyId, { state: 'WAITING', systemAttrs: { fixed_params: params }, userAttrs: options.userAttrs });
  }

  /** Asks `optimize` (and `runSweep`) to start no further trials. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Whether `stop()` was called since the current `optimize` / sweep began. */
  get stopped(): boolean {
    return this.stopRequested;
  }

  /** @internal Clears a previous `stop()` when a new `optimize` or sweep starts (Optuna resets its stop flag too). */
  beginRun(): void {
    this.stopRequested = false;
  }

  /**
   * Runs `nTrials` trials of `objective`, `concurrency` at a time (Optuna's `optimize`; async objectives overlap,
   * synchronous ones run one after another on the event loop).
   */
  async optimize(objective: Objective, options: OptimizeOptions): Promise<void> {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(options.nTrials) || options.nTrials < 0) throw new ConfigError([{ path: 'nTrials', message: `must be a non-negative integer; got ${options.nTrials}` }]);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError([{ path: 'concurrency', message: `must be a positive integer; got ${concurrency}` }]);
    this.beginRun();
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < options.nTrials && !this.stopRequested) {
        started++;
        if (this.heartbeat) failStaleTrials(this.storage, this.studyId, this.heartbeat);
        const trial = this.ask({}, { heartbeat: this.heartbeat !== undefined });
        const stopHeartbeat = this.heartbeat ? startHeartbeat(this.storage, trial.trialId, this.heartbeat.intervalSeconds) : () => {};
        let outcome: TellInput | undefined;
        let failure: unknown;
        try {
          outcome = await objective(trial);
        } catch (error) {
          if (error instanceof TrialPruned) outcome = 'PRUNED';
          else [outcome, failure] = ['FAIL', error];
        } finally {
          stopHeartbeat();
        }
        const frozen = this.tell(trial, outcome);
        options.callback?.(this, frozen);
        if (failure !== undefined && !options.catch?.(failure)) throw failure;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  private context(): ConstructorParameters<typeof Trial>[0] {
    return { storage: this.storage, view: this.view, sampler: this.sampler, pruner: this.pruner };
  }

  private infeasibility(values: readonly number[]): string | undefined {
    if (values.some((value) => typeof value !== 'number' || Number.isNaN(value))) return `the value ${values.join(', ')} is not acceptable`;
    if (values.length !== this.directions.length) return `${values.length} values were told but the study has ${this.directions.length} objectives`;
    return undefined;
  }

  private hasTrialWith(params: Record<string, ParamValue>): boolean {
    const keys = Object.keys(params).sort().join('\u0000');
    return this.trials.some((trial) => {
      const existing = (trial.systemAttrs.fixed_params as Record<string, ParamValue> | undefined) ?? trial.params;
      if (Object.keys(existing).sort().join('\u0000') !== keys) return false;
      return Object.entries(params).every(([name, value]) => existing[name] === value || (Number.isNaN(value) && Number.isNaN(existing[name])));
    });
  }
}

/**
 * Creates a study (or, with `loadIfExists`, continues one), Optuna's `create_study`.
 *
 * @example
 * const study = createStudy({ storage: 'sqlite:///runs/sweeps.db', studyName: 'ppo-lr', direction: 'maximize', loadIfExists: true });
 */
export function createStudy(options: CreateStudyOptions = {}): Study {
  if (options.direction !== undefined && options.directions !== undefined) {
    throw new ConfigError([{ path: 'direction', message: 'give direction or directions, not both' }]);
  }
  const inputs = options.directions ?? [options.direction ?? 'minimize'];
  const directions = inputs.map((input, index) => {
    const direction = parseDirection(String(input));
    if (!direction) throw new ConfigError([{ path: options.directions ? `directions[${index}]` : 'direction', message: `must be 'minimize' or 'maximize'; got ${JSON.stringify(input)}` }]);
    return direction;
  });
  if (directions.length === 0) throw new ConfigError([{ path: 'directions', message: 'at least one direction is needed' }]);
  const storage = openStorage(options.storage, options.schemaRevision);
  const studyName = options.studyName ?? `no-name-${randomUUID()}`;
  const existing = storage.getStudyId(studyName);
  if (existing !== undefined && options.loadIfExists) {
    const study = new Study(storage, existing, options);
    if (study.directions.join() !== directions.join()) {
      throw new ConfigError([{ path: 'direction', message: `study '${studyName}' exists with directions ${study.directions.join(', ')}, not ${directions.join(', ')}` }]);
    }
    return study;
  }
  return new Study(storage, storage.createStudy(directions, studyName), options);
}

/**
 * Opens an existing study by name (Optuna's `load_study`).
 *
 * @example
 * const study = loadStudy({ storage: 'sqlite:///runs/sweeps.db', studyName: 'ppo-lr' });
 */
export function loadStudy(options: LoadStudyOptions): Study {
  const storage = openStorage(options.storage, options.schemaRevision);
  const studyId = storage.getStudyId(options.studyName);
  if (studyId === undefined) {
    const names = storage.getAllStudies().map((study) => study.studyName);
    throw new StudyNotFoundError(`no study named '${options.studyName}' in ${storage.url}${names.length ? ` (studies: ${names.join(', ')})` : ''}`);
  }
  return new Study(storage, studyId, options);
}
