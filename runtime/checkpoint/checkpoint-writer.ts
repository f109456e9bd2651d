/**
 * Asynchronous checkpointing: `save()` takes an in-memory snapshot (the only part the training loop waits for) and
 * returns; a background loop uploads snapshots one at a time, in step order:
 *
 *   hash every object -> put shards and state.json -> put manifest.json -> put latest -> apply keep-N retention
 *
 * Nothing half-written ever becomes `latest`: the manifest goes up only after every object it lists, and `latest`
 * only after the manifest. A transient failure (network, 5xx, throttling) is retried with exponential backoff for
 * `retryForMs`, re-sending only the objects not yet confirmed; a permanent one (no bucket, access denied) fails that
 * checkpoint at once. Either way the failure is reported (event + log) and training goes on; the next save tries
 * again. Memory stays bounded: at most one snapshot uploading and `maxPending` waiting; a newer snapshot supersedes
 * the oldest waiting one.
 */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { rootLogger, type Logger } from '../logging.ts';
import { CheckpointError } from './errors.ts';
import {
  assertValidRun,
  checkpointPrefix,
  LATEST_NAME,
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  sha256Hex,
  stepDirectory,
  type CheckpointManifest,
} from './layout.ts';
import { applyRetention } from './retention.ts';
import { takeSnapshot, type CheckpointInput, type CheckpointSnapshot } from './snapshot.ts';
import type { CheckpointStore } from './store.ts';

export interface CheckpointWriterOptions {
  store: CheckpointStore;
  /** Run name: the checkpoints live under `<store>/<run>/`. */
  run: string;
  /** Complete checkpoints to keep (default 3; `Infinity` keeps all). */
  keep?: number;
  /** How long one checkpoint retries transient failures before it is reported failed (default 15 minutes). */
  retryForMs?: number;
  /** First delay between attempts (default 1 s); it doubles per failure up to `maxBackoffMs` (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Snapshots allowed to wait behind the uploading one (default 1). */
  maxPending?: number;
  /** Logger for progress and failures (default: the root logger). */
  logger?: Logger;
  /** Called for every event, e.g. to count failures in metrics. */
  onEvent?: (event: CheckpointEvent) => void;
}

export type CheckpointEvent =
  | { type: 'snapshot'; step: number; bytes: number; snapshotMs: number }
  | { type: 'saved'; step: number; bytes: number; attempts: number; uploadMs: number }
  | { type: 'retrying'; step: number; attempt: number; delayMs: number; error: string }
  | { type: 'failed'; step: number; attempts: number; error: string }
  | { type: 'superseded'; step: number; by: number }
  | { type: 'retention'; step: number; deletedSteps: number[] }
  | { type: 'retention-failed'; step: number; error: string };

export type SaveOutcome =
  | { status: 'saved'; step: number; attempts: number; uploadMs: number }
  | { status: 'failed'; step: number; attempts: number; error: Error }
  | { status: 'superseded'; step: number; by: number };

/** What `save()` returns once the snapshot is taken. */
export interface SaveHandle {
  step: number;
  /** Bytes of all objects of the checkpoint (manifest excluded). */
  bytes: number;
  /** Time the snapshot took: the training stall of this checkpoint. */
  snapshotMs: number;
  /** Settles when the upload ends; never rejects (failures are an outcome, not an exception). */
  done: Promise<SaveOutcome>;
}

interface Job {
  snapshot: CheckpointSnapshot;
  resolve: (outcome: SaveOutcome) => void;
}

/**
 * @example
 * const writer = new CheckpointWriter({ store: openCheckpointStore(uri), run: 'ppo-seed-1', keep: 3 });
 * // in the training loop, every 100 steps:
 * writer.save(step, {
 *   shards: { 'policy/rank-0/weights.bin': policyWeights, 'policy/rank-0/optimizer.bin': policyAdamMoments },
 *   state: { rng: rng.state(), dataCursor: cursor.position, klController: kl.state(), config },
 * });
 * // at the end:
 * await writer.flush();
 */
export class CheckpointWriter {
  private readonly store: CheckpointStore;
  private readonly run: string;
  private readonly keep: number;
  private readonly retryForMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxPending: number;
  private readonly logger: Logger;
  private readonly onEvent: ((event: CheckpointEvent) => void) | undefined;
  private readonly waiting: Job[] = [];
  private uploading: Job | undefined;
  private pump: Promise<void> | undefined;

  constructor(options: CheckpointWriterOptions) {
    assertValidRun(options.run);
    this.store = options.store;
    this.run = options.run;
    this.keep = options.keep ?? 3;
    this.retryForMs = options.retryForMs ?? 15 * 60_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.maxPending = options.maxPending ?? 1;
    // Log lines name the checkpoint run once: a parent logger of the same run already binds it (no key twice).
    const parent = options.logger ?? rootLogger();
    const boundRun = parent.bindings().run as unknown;
    const runField = boundRun === undefined ? { run: options.run } : boundRun === options.run ? {} : { checkpointRun: options.run };
    this.logger = parent.child({ component: 'checkpoint', ...runField });
    this.onEvent = options.onEvent;
    if (!(this.keep >= 1)) throw new CheckpointError('CHECKPOINT_INPUT_INVALID', `keep must be at least 1, got ${this.keep}`, { path: 'checkpoint.keep' });
    if (!Number.isInteger(this.maxPending) || this.maxPending < 0) {
      throw new CheckpointError('CHECKPOINT_INPUT_INVALID', `maxPending must be a non-negative integer, got ${this.maxPending}`, {
        path: 'checkpoint.maxPending',
      });
    }
  }

  /** True when nothing is uploading or waiting. */
  get idle(): boolean {
    return this.pump === undefined;
  }

  /**
   * Snapshots `input` (copies every shard, serialises state) and queues the upload; returns as soon as the copy is
   * made. Throws `CHECKPOINT_INPUT_INVALID` for bad input, synchronously.
   */
  save(step: number, input: CheckpointInput): SaveHandle {
    const started = performance.now();
    const snapshot = takeSnapshot(step, input);
    const snapshotMs = performance.now() - started;
    this.emit({ type: 'snapshot', step, bytes: snapshot.totalBytes, snapshotMs });
    let resolve!: (outcome: SaveOutcome) => void;
    const done = new Promise<SaveOutcome>((settle) => (resolve = settle));
    this.waiting.push({ snapshot, resolve });
    // Until the background loop picks the oldest job up, that job counts as the uploading one, not as waiting.
    const firstWaiting = this.uploading === undefined ? 1 : 0;
    while (this.waiting.length > this.maxPending + firstWaiting) {
      const dropped = this.waiting.splice(firstWaiting, 1)[0]!;
      this.emit({ type: 'superseded', step: dropped.snapshot.step, by: step });
      dropped.resolve({ status: 'superseded', step: dropped.snapshot.step, by: step });
    }
    this.pump ??= this.drain();
    return { step, bytes: snapshot.totalBytes, snapshotMs, done };
  }

  /** Resolves when every queued checkpoint has been uploaded, superseded or reported failed. */
  async flush(): Promise<void> {
    while (this.pump) await this.pump;
  }

  private async drain(): Promise<void> {
    // Yield to the event loop first, so no upload work (hashing) runs inside the caller's turn.
    await yieldToEventLoop();
    for (let job = this.waiting.shift(); job; job = this.waiting.shift()) {
      this.uploading = job;
      try {
        job.resolve(await this.upload(job.snapshot));
      } catch (error) {
        // Only a bug gets here (store failures are outcomes); report it like one and keep the loop alive.
        this.emit({ type: 'failed', step: job.snapshot.step, attempts: 0, error: (error as Error).message });
        this.logger.error({ step: job.snapshot.step, err: error }, 'checkpoint upload crashed; training continues');
        job.resolve({ status: 'failed', step: job.snapshot.step, attempts: 0, error: error as Error });
      }
      this.uploading = undefined;
    }
    this.pump = undefined;
  }

  private async upload(snapshot: CheckpointSnapshot): Promise<SaveOutcome> {
    const { step } = snapshot;
    const started = performance.now();
    const prefix = checkpointPrefix(this.run, step);
    const manifest: CheckpointManifest = {
      format: MANIFEST_FORMAT,
      version: 1,
      run: this.run,
      step,
      createdAt: snapshot.createdAt,
      objects: [],
    };
    for (const object of snapshot.objects) {
      manifest.objects.push({ key: object.key, bytes: object.bytes.byteLength, sha256: await sha256Hex(object.bytes), dtype: object.dtype });
    }
    const writes: { key: string; bytes: Uint8Array }[] = [
      ...snapshot.objects.map((object) => ({ key: prefix + object.key, bytes: object.bytes })),
      { key: prefix + MANIFEST_NAME, bytes: new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`) },
      { key: `${this.run}/${LATEST_NAME}`, bytes: new TextEncoder().encode(`${stepDirectory(step)}\n`) },
    ];

    let confirmed = 0;
    let attempts = 0;
    let delayMs = this.initialBackoffMs;
    let deadline: number | undefined;
    for (;;) {
      attempts++;
      try {
        for (; confirmed < writes.length; confirmed++) await this.store.put(writes[confirmed]!.key, writes[confirmed]!.bytes);
        break;
      } catch (error) {
        const message = (error as Error).message;
        deadline ??= Date.now() + this.retryForMs;
        const retryable = error instanceof CheckpointError && error.retryable;
        if (!retryable || Date.now() >= deadline) {
          const reason = retryable ? `still failing after retrying for ${Math.round(this.retryForMs / 1000)} s` : 'not retryable';
          this.emit({ type: 'failed', step, attempts, error: message });
          this.logger.error({ step, attempts, err: error }, `checkpoint of step ${step} failed (${reason}); training continues: ${message}`);
          return { status: 'failed', step, attempts, error: error as Error };
        }
        const wait = Math.min(delayMs * (0.5 + Math.random() / 2), deadline - Date.now());
        this.emit({ type: 'retrying', step, attempt: attempts, delayMs: wait, error: message });
        this.logger.warn({ step, attempt: attempts, delayMs: Math.round(wait) }, `checkpoint upload of step ${step} failed, retrying: ${message}`);
        await sleep(wait);
        delayMs = Math.min(delayMs * 2, this.maxBackoffMs);
      }
    }
    const uploadMs = performance.now() - started;
    this.emit({ type: 'saved', step, bytes: snapshot.totalBytes, attempts, uploadMs });
    this.logger.info({ step, bytes: snapshot.totalBytes, attempts, uploadMs: Math.round(uploadMs) }, `checkpoint of step ${step} saved to ${this.store.uri}/${prefix}`);
    await this.retain(step);
    return { status: 'saved', step, attempts, uploadMs };
  }

  private async retain(step: number): Promise<void> {
    if (!Number.isFinite(this.keep)) return;
    try {
      const deletedSteps = await applyRetention(this.store, this.run, this.keep);
      if (deletedSteps.length > 0) this.emit({ type: 'retention', step, deletedSteps });
    } catch (error) {
      this.emit({ type: 'retention-failed', step, error: (error as Error).message });
      this.logger.warn({ step, err: error }, `retention after step ${step} failed (it will be retried after the next checkpoint)`);
    }
  }

  private emit(event: CheckpointEvent): void {
    try {
      this.onEvent?.(event);
    } catch (error) {
      this.logger.warn({ err: error, event: event.type }, 'a checkpoint event listener threw; ignored');
    }
  }
}
