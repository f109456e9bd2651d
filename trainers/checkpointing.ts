/**
 * A run's checkpoints (ARCHITECTURE.md section 4): where they go, what one holds, and which one a run resumes
 * from. The storage itself (stores, the asynchronous writer, verification, retention) is runtime/checkpoint/;
 * this file maps a trainer's `TrainingState` onto that layout:
 *
 *   <run>/step-000100/policy/rank-0/weights.bin     flat float32 weights (rank 0: data-parallel ranks are replicas)
 *   <run>/step-000100/policy/rank-0/optimizer.bin   Adam's first moment, then its second (2 x P float32)
 *   <run>/step-000100/state.json                    { step, method, trialId, config, dataCursor, roles: { policy:
 *                                                     { weightVersion, optimizerStep } }, samplers, driver }
 *
 * The URI is `checkpoint.uri`, by default `file://<run directory>/checkpoints` (the file store warns that local
 * disk dies with the node). Inside the store, a run's checkpoints live under its name (plus `-trial-<id>` in a
 * sweep). With `checkpoint.resume: 'auto'` a run opens on the newest checkpoint whose objects all verify (a
 * corrupt or truncated newer one is skipped with a warning naming the object) and continues after it; a
 * checkpoint written for another config is refused rather than silently mixed in.
 */
import { join } from 'node:path';
import {
  checkpointPrefix,
  CheckpointWriter,
  discardCheckpointsAfter,
  LATEST_NAME,
  loadLatestVerified,
  openCheckpointStore,
  type CheckpointEvent,
  type CheckpointProblem,
  type CheckpointStore,
  type CheckpointWriterOptions,
  type LoadedCheckpoint,
  type SaveHandle,
} from '../runtime/checkpoint/index.ts';
import { PosttrainError } from '../runtime/errors.ts';
import type { Logger } from '../runtime/index.ts';
import type { CheckpointRecord } from '../observe/index.ts';
import type { CheckpointConfig } from './config-sections.ts';
import type { RoleSnapshot } from './roles/model-role.ts';
import type { TrainingState } from './training-state.ts';

/** What a checkpoint needs to know about the run's config: every trainer's config has these. */
export interface CheckpointedConfig {
  name: string;
  checkpoint: CheckpointConfig;
}

/** Options of `RunCheckpoints.open`, from the run session and the trainer options. */
export interface RunCheckpointsOptions {
  method: string;
  config: CheckpointedConfig;
  runDirectory: string;
  logger: Logger;
  /** The sweep trial this run is, if any: saved in state.json and part of the run's name in the store. */
  trialId?: number | string;
  /** Tuning of the upload retries (tests shorten the backoff). */
  writer?: Pick<CheckpointWriterOptions, 'retryForMs' | 'initialBackoffMs' | 'maxBackoffMs'>;
  /** Wraps the store (fault injection: an outage). */
  wrapStore?: (store: CheckpointStore) => CheckpointStore;
  /** Called when a checkpoint has landed (its manifest and `latest` are written). */
  onLanded?: (landed: LandedCheckpoint) => void;
}

/** A checkpoint that is complete in the store. */
export interface LandedCheckpoint extends CheckpointRecord {
  /** Bytes of its objects. */
  bytes: number;
  /** Seconds the training loop waited for it (reading the roles' state and the in-memory copy). */
  stallSeconds: number;
  /** Seconds from the copy to `latest` written. */
  uploadSeconds: number;
  /** Upload attempts (more than one when the store failed for a while). */
  attempts: number;
}

/**
 * What the metrics line after a checkpoint landed carries (`checkpoint: { step, uri, bytes, stallSeconds,
 * uploadSeconds }`): where it is, and what it cost, so that a run's own metrics say how much checkpointing stalls it.
 */
export type CheckpointMarker = CheckpointRecord & Pick<LandedCheckpoint, 'bytes' | 'stallSeconds' | 'uploadSeconds'>;

/** Where a resumed run continues from, for summary.json. */
export interface ResumedFrom extends CheckpointRecord {
  /** Newer checkpoints that failed verification, newest first: what failed and why. */
  skipped: CheckpointProblem[];
}

/** Config fields that may change when a run is resumed: where it is logged and stored, how it runs, how long. */
const MAY_CHANGE_ON_RESUME = new Set(['name', 'logging', 'checkpoint', 'runtime', 'trainer.steps']);

/**
 * @example
 * const checkpoints = await RunCheckpoints.open({ method: 'ppo', config, runDirectory, logger });
 * if (checkpoints.resumed) console.log(`continuing after step ${checkpoints.resumed.step}`);
 * checkpoints.save(await captureTrainingState(roles, step, driverState), stallStarted);
 * await checkpoints.close();
 */
export class RunCheckpoints {
  readonly store: CheckpointStore;
  /** The run's name inside the store. */
  readonly run: string;
  /** The state to continue from, when `resume: 'auto'` found a checkpoint. */
  readonly resumed: TrainingState | undefined;
  readonly resumedFrom: ResumedFrom | undefined;
  /** The newest checkpoint that landed (for summary.json). */
  lastCheckpoint: CheckpointRecord | undefined;
  /** Step of the newest snapshot handed to the writer (it may still be uploading). */
  lastSavedStep: number | undefined;
  private readonly writer: CheckpointWriter;
  private readonly options: RunCheckpointsOptions;
  private readonly stalls = new Map<number, number>();
  private marker: CheckpointMarker | undefined;

  private constructor(options: RunCheckpointsOptions, store: CheckpointStore, run: string, resumed: { state: TrainingState; from: ResumedFrom } | undefined) {
    this.options = options;
    this.store = store;
    this.run = run;
    this.resumed = resumed?.state;
    this.resumedFrom = resumed?.from;
    this.lastSavedStep = resumed?.state.step;
    this.writer = new CheckpointWriter({
      store,
      run,
      keep: options.config.checkpoint.keep,
      logger: options.logger,
      ...options.writer,
      onEvent: (event) => this.observe(event),
    });
  }

  /** Opens the run's store and, with `resume: 'auto'`, loads the newest checkpoint that verifies. */
  static async open(options: RunCheckpointsOptions): Promise<RunCheckpoints> {
    const { config, logger } = options;
    const section = config.checkpoint;
    const uri = section.uri ?? `file://${join(options.runDirectory, 'checkpoints')}`;
    const opened = openCheckpointStore(uri, {
      s3: { forcePathStyle: section.forcePathStyle, ...(section.endpoint ? { endpoint: section.endpoint } : {}), ...(section.region ? { region: section.region } : {}) },
      file: { logger },
    });
    const store = options.wrapStore ? options.wrapStore(opened) : opened;
    const run = options.trialId === undefined ? config.name : `${config.name}-trial-${options.trialId}`;
    if (section.resume === 'never') {
      // Starting over in a run that has checkpoints: drop them, so a later resume cannot pick up the old timeline.
      const dropped = await discardCheckpointsAfter(store, run, -1);
      if (dropped.length > 0) {
        await store.delete(`${run}/${LATEST_NAME}`);
        logger.warn({ run, dropped }, `checkpoint.resume is 'never': deleted this run's ${dropped.length} earlier checkpoints in ${store.uri}`);
      }
      return new RunCheckpoints(options, store, run, undefined);
    }
    const loaded = await loadLatestVerified(store, run, { logger });
    if (!loaded) return new RunCheckpoints(options, store, run, undefined);
    const state = trainingStateOf(loaded, options.method, config);
    // Checkpoints past the resumed one (corrupt ones that made us fall back) belong to an abandoned timeline.
    await discardCheckpointsAfter(store, run, loaded.step);
    const from: ResumedFrom = { step: loaded.step, uri: `${store.uri}/${checkpointPrefix(run, loaded.step)}`, skipped: loaded.skipped };
    logger.info({ step: loaded.step, uri: from.uri, skipped: loaded.skipped.length }, `resuming from the checkpoint of step ${loaded.step}`);
    return new RunCheckpoints(options, store, run, { state, from });
  }

  /**
   * Hands `state` to the asynchronous writer (it copies the bytes; the upload runs in the background) and returns
   * at once. `stallStarted` is when the loop began waiting for this checkpoint (`performance.now()`).
   */
  save(state: TrainingState, stallStarted: number): SaveHandle {
    const handle = this.writer.save(state.step, checkpointInputOf(state, this.options));
    this.stalls.set(state.step, (performance.now() - stallStarted) / 1000);
    this.lastSavedStep = state.step;
    return handle;
  }

  /** The checkpoint that landed since the last call, for the next metrics line (`checkpoint: { step, uri, ... }`). */
  takeMarker(): CheckpointMarker | undefined {
    const marker = this.marker;
    this.marker = undefined;
    return marker;
  }

  /** Resolves when every checkpoint handed over has landed, been superseded or failed. */
  async flush(): Promise<void> {
    await this.writer.flush();
  }

  /** Waits for uploads, then releases the store. */
  async close(): Promise<void> {
    await this.writer.flush();
    await this.store.close();
  }

  private observe(event: CheckpointEvent): void {
    if (event.type !== 'saved') return;
    const record: CheckpointRecord = { step: event.step, uri: `${this.store.uri}/${checkpointPrefix(this.run, event.step)}` };
    const stallSeconds = this.stalls.get(event.step) ?? 0;
    this.stalls.delete(event.step);
    const cost = { bytes: event.bytes, stallSeconds, uploadSeconds: event.uploadMs / 1000 };
    this.lastCheckpoint = record;
    this.marker = { ...record, ...cost };
    this.options.onLanded?.({ ...record, ...cost, attempts: event.attempts });
  }
}

/** The checkpoint objects of a training state (layout in the file comment). */
export function checkpointInputOf(state: TrainingState, options: Pick<RunCheckpointsOptions, 'method' | 'config' | 'trialId'>) {
  const shards: Record<string, Float32Array> = {};
  const roles: Record<string, { weightVersion: number; optimizerStep?: number }> = {};
  for (const [name, snapshot] of Object.entries(state.roles)) {
    shards[`${name}/rank-0/weights.bin`] = snapshot.weights;
    roles[name] = { weightVersion: snapshot.weightVersion };
    if (snapshot.optimizer) {
      const { firstMoment, secondMoment } = snapshot.optimizer;
      const moments = new Float32Array(firstMoment.length + secondMoment.length);
      moments.set(firstMoment);
      moments.set(secondMoment, firstMoment.length);
      shards[`${name}/rank-0/optimizer.bin`] = moments;
      roles[name].optimizerStep = snapshot.optimizer.step;
    }
  }
  return {
    shards,
    state: {
      method: options.method,
      ...(options.trialId === undefined ? {} : { trialId: options.trialId }),
      // Prompt and example indices are seed * 10^7 + (step - 1) * batch + i: the step is the data cursor.
      dataCursor: { step: state.step },
      roles,
      samplers: state.samplers,
      driver: state.driver,
      config: options.config,
    },
  };
}

/** The training state a loaded checkpoint holds; refuses one of another method or an incompatible config. */
function trainingStateOf(loaded: LoadedCheckpoint, method: string, config: CheckpointedConfig): TrainingState {
  const saved = loaded.state as { method?: string; roles?: Record<string, { weightVersion: number; optimizerStep?: number }>; samplers?: Record<string, number[][]>; driver?: object; config?: unknown };
  const where = `${loaded.run}/step-${String(loaded.step).padStart(6, '0')}`;
  if (saved.method !== method) {
    throw new PosttrainError('CHECKPOINT_MISMATCH', `checkpoint ${where} was written by a ${saved.method ?? 'unknown'} run, this is a ${method} run; use another run name or checkpoint.resume: 'never'`, {
      path: 'checkpoint.resume',
    });
  }
  const differences = configDifferences(saved.config, config);
  if (differences.length > 0) {
    throw new PosttrainError(
      'CHECKPOINT_MISMATCH',
      `checkpoint ${where} was written with another config (${differences.slice(0, 5).join('; ')}${differences.length > 5 ? `; ${differences.length - 5} more` : ''}); ` +
        `resume with the same config, choose another run name, or set checkpoint.resume: 'never' to start over (its checkpoints are deleted)`,
      { path: 'checkpoint.resume' },
    );
  }
  const roles: Record<string, RoleSnapshot> = {};
  for (const [name, role] of Object.entries(saved.roles ?? {})) {
    const weights = loaded.shards[`${name}/rank-0/weights.bin`] as Float32Array;
    const moments = loaded.shards[`${name}/rank-0/optimizer.bin`] as Float32Array | undefined;
    roles[name] = {
      weights,
      weightVersion: role.weightVersion,
      ...(moments && role.optimizerStep !== undefined
        ? { optimizer: { step: role.optimizerStep, firstMoment: moments.subarray(0, weights.length), secondMoment: moments.subarray(weights.length) } }
        : {}),
    };
  }
  return { step: loaded.step, roles, samplers: saved.samplers ?? {}, driver: saved.driver ?? {} };
}

/** `path: saved -> now` for every config value that differs and may not change on resume. */
function configDifferences(saved: unknown, current: unknown, path = ''): string[] {
  if (MAY_CHANGE_ON_RESUME.has(path)) return [];
  const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isObject(saved) && isObject(current)) {
    const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
    return [...keys].flatMap((key) => configDifferences(saved[key], current[key], path ? `${path}.${key}` : key));
  }
  const before = JSON.stringify(saved);
  const now = JSON.stringify(current);
  return before === now ? [] : [`${path || '(config)'}: ${before ?? 'absent'} -> ${now ?? 'absent'}`];
}
