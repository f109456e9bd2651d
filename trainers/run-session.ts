/**
 * The plumbing every trainer shares, kept out of the trainers so that each reads top to bottom as its algorithm:
 * the run directory (config.json, metrics.jsonl, summary.json, TensorBoard events, session.json), the runtime
 * (started here unless the caller brings one), logging with the run, stage and current step on every line,
 * progress on a terminal, Prometheus metrics, step events for programmatic users, stop requests from signals, and
 * the run's checkpoints (opened here, before the metrics, so that a resumed run keeps its metrics up to the
 * checkpoint's step).
 */
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import {
  Runtime,
  rootLogger,
  sharedProgress,
  startMetricsServer,
  withLiveContext,
  type Logger,
  type ProgressBar,
} from '../runtime/index.ts';
import {
  createTrainingMetrics,
  MetricsWriter,
  writeSessionFile,
  type MetricsRecord,
  type RunSummary,
} from '../observe/index.ts';
import { PosttrainError } from '../runtime/errors.ts';
import { RunCheckpoints, type CheckpointedConfig, type LandedCheckpoint } from './checkpointing.ts';
import type { CheckpointWriterOptions } from '../runtime/checkpoint/index.ts';
import type { LoggingConfig, RuntimeConfig } from './config-sections.ts';
import { FaultInjector, type FaultPlan } from './fault-injection.ts';
import type { FailoverRecord } from './durable-run.ts';

/**
 * Events a trainer emits: `step` (one metrics record per step), `checkpoint` (one has landed in the store),
 * `failover` (a dead role host was replaced and the run went on), `done` (the summary).
 */
export interface TrainerEvents {
  step: [MetricsRecord];
  checkpoint: [LandedCheckpoint];
  failover: [FailoverRecord];
  done: [RunSummary];
}

/** Options every trainer's constructor takes besides its config. */
export interface TrainerOptions {
  /** Use this runtime (e.g. shared by several trainers or a sweep) instead of starting one; it is not shut down. */
  runtime?: Runtime;
  /** Write the run here instead of `<logging.runsDirectory>/<name>`. */
  runDirectory?: string;
  /** Keep the metrics of this run up to this step (default: the step of the checkpoint resumed from, if any). */
  resumeFromStep?: number;
  /** The sweep trial this run is: saved in its checkpoints and part of their name in the store. */
  trialId?: number | string;
  /** Faults on purpose, for tests and benchmarks: kill a role's worker at a step, make the checkpoint store fail. */
  faults?: FaultPlan;
  /** Tuning of checkpoint upload retries (default: retry transient failures for 15 min, backoff 1 s to 30 s). */
  checkpointWriter?: Pick<CheckpointWriterOptions, 'retryForMs' | 'initialBackoffMs' | 'maxBackoffMs'>;
  /** Fields on every log line of the run, e.g. `{ trial: 7 }` from the sweep launcher. */
  logContext?: Record<string, string | number>;
  /**
   * Aborting it releases the run's resources at once (its actors are killed and its placement groups removed in
   * the same tick) and makes `train()` reject with TRAINING_ABORTED. The sweep launcher prunes trials this way.
   */
  signal?: AbortSignal;
}

/** What `open` assembles: the session's public parts, and the plumbing that only the session itself touches. */
interface SessionParts {
  method: string;
  runDirectory: string;
  runtime: Runtime;
  logger: Logger;
  checkpoints: RunCheckpoints;
  faults: FaultInjector | undefined;
  /** The run's metrics files; opened again (`reopenMetrics`) when a fail-over rewinds the run. */
  metrics: MetricsWriter;
  reopenMetrics: (resumeFromStep: number) => MetricsWriter;
  /** Whether this session started the runtime, and so shuts it down on close. */
  ownsRuntime: boolean;
  events: EventEmitter<TrainerEvents>;
  closeMetricsServer?: () => Promise<void>;
  signal?: AbortSignal;
  /** The step loop's state, for the `step` on log lines: the last recorded step and whether the loop runs. */
  stepState: { last: number; looping: boolean };
}

export class RunSession {
  readonly method: string;
  readonly runDirectory: string;
  readonly runtime: Runtime;
  readonly logger: Logger;
  /** The run's checkpoint store and writer, and the state it resumes from. */
  readonly checkpoints: RunCheckpoints;
  readonly faults: FaultInjector | undefined;
  private readonly parts: SessionParts;
  private readonly failovers: FailoverRecord[] = [];
  private readonly started = performance.now();
  private stopReason: string | undefined;
  private readonly abortHandlers: (() => unknown)[] = [];
  private abortedByCaller = false;
  private loopBar: ProgressBar | undefined;
  /** Whether the loop's bar is drawn (then step lines are `debug`: the bar already shows the progress). */
  private barShown = false;
  private readonly onAbort = () => void this.abort();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.stopReason = signal;
    this.logger.warn({ signal }, 'stop requested: finishing the step, then checkpointing and exiting');
  };

  private constructor(parts: SessionParts) {
    this.method = parts.method;
    this.runDirectory = parts.runDirectory;
    this.runtime = parts.runtime;
    this.logger = parts.logger;
    this.checkpoints = parts.checkpoints;
    this.faults = parts.faults;
    this.parts = parts;
    if (parts.signal?.aborted) this.abortedByCaller = true;
    parts.signal?.addEventListener('abort', this.onAbort, { once: true });
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
  }

  /** Opens the run directory and its checkpoints, writes the resolved config and starts (or adopts) the runtime. */
  static async open(options: {
    method: string;
    name: string;
    config: CheckpointedConfig;
    runtimeConfig: RuntimeConfig;
    loggingConfig: LoggingConfig;
    events: EventEmitter<TrainerEvents>;
    trainerOptions: TrainerOptions;
  }): Promise<RunSession> {
    const { trainerOptions, runtimeConfig, loggingConfig } = options;
    const runDirectory = resolve(trainerOptions.runDirectory ?? join(loggingConfig.runsDirectory, options.name));
    // Lines logged while a step runs carry its number; lines from the runtime and the role workers (re-emitted
    // through children of this logger) included.
    const stepState = { last: trainerOptions.resumeFromStep ?? 0, looping: false };
    const logger = withLiveContext(rootLogger(), () => (stepState.looping ? { step: stepState.last + 1 } : {}), {
      run: options.name,
      stage: options.method,
      ...trainerOptions.logContext,
    });
    logger.level = loggingConfig.level;
    const faults = trainerOptions.faults ? new FaultInjector(trainerOptions.faults, logger) : undefined;
    const events = options.events;
    const checkpoints = await RunCheckpoints.open({
      method: options.method,
      config: options.config,
      runDirectory,
      logger,
      ...(trainerOptions.trialId === undefined ? {} : { trialId: trainerOptions.trialId }),
      ...(trainerOptions.checkpointWriter ? { writer: trainerOptions.checkpointWriter } : {}),
      ...(faults ? { wrapStore: (store) => faults.wrapStore(store) } : {}),
      onLanded: (landed) => events.emit('checkpoint', landed),
    });
    const runtime =
      trainerOptions.runtime ??
      (await Runtime.start({
        namespace: runtimeConfig.namespace,
        logger,
        ...(runtimeConfig.address ? { address: runtimeConfig.address } : {}),
        ...(runtimeConfig.nodes ? { nodes: runtimeConfig.nodes.map((node) => ({ ...node })) } : {}),
      }));
    const trainingMetrics = createTrainingMetrics(runtime.metrics, { run: options.name, stage: options.method });
    // One stage per run directory, its lines without a `stage` field: truncation must not filter by stage.
    const reopenMetrics = (resumeFromStep: number) => MetricsWriter.open(runDirectory, { trainingMetrics, resumeFromStep });
    const resumeFromStep = trainerOptions.resumeFromStep ?? checkpoints.resumed?.step;
    const metrics = resumeFromStep === undefined ? MetricsWriter.open(runDirectory, { stage: options.method, trainingMetrics, overwrite: true }) : reopenMetrics(resumeFromStep);
    // The method first: `recipe resume <run>` rebuilds the run's trainer from the method named here.
    metrics.writeConfig({ method: options.method, ...options.config });
    let closeMetricsServer: (() => Promise<void>) | undefined;
    let metricsUrl: string | undefined;
    if (loggingConfig.metricsPort !== undefined) {
      const server = await startMetricsServer({ registry: runtime.metrics, port: loggingConfig.metricsPort });
      logger.info({ url: server.url }, 'serving Prometheus metrics');
      closeMetricsServer = server.close;
      metricsUrl = server.url;
    }
    writeSessionFile(runDirectory, { method: options.method, name: options.name, ...(metricsUrl ? { metricsUrl } : {}) });
    return new RunSession({
      method: options.method,
      runDirectory,
      runtime,
      ownsRuntime: trainerOptions.runtime === undefined,
      logger,
      metrics,
      reopenMetrics,
      checkpoints,
      faults,
      events: options.events,
      ...(closeMetricsServer ? { closeMetricsServer } : {}),
      ...(trainerOptions.signal ? { signal: trainerOptions.signal } : {}),
      stepState,
    });
  }

  /**
   * Runs `release` the moment the run is aborted (at once if it already was): the trainer registers the removal
   * of its placement groups here, so an aborted trial frees its resources in the same tick.
   */
  releaseOnAbort(release: () => unknown): void {
    if (this.abortedByCaller) void release();
    else this.abortHandlers.push(release);
  }

  /** Aborts the run: releases its resources now and resolves once they are free. */
  async abort(): Promise<void> {
    this.abortedByCaller = true;
    this.stopReason ??= 'aborted';
    await Promise.allSettled(this.abortHandlers.splice(0).map((handler) => handler()));
  }

  /** Whether the caller aborted the run. */
  get aborted(): boolean {
    return this.abortedByCaller;
  }

  /** The error `train()` rejects with: TRAINING_ABORTED when the run was aborted, else the error itself. */
  failure(error: unknown): unknown {
    if (!this.aborted) return error;
    return new PosttrainError('TRAINING_ABORTED', `run ${this.runDirectory} was aborted by its caller; its resources were released`, { cause: error });
  }

  /**
   * The step loop's progress bar (drawn on a terminal, silent in CI and when stderr is not a terminal). The loop
   * runs from here to the bar's `done()`: log lines in between carry the step being taken.
   */
  progress(name: string, total: number, enabled: boolean): ProgressBar {
    const display = sharedProgress();
    const bar = enabled && display.enabled ? display.stage(name, total) : QUIET_BAR;
    this.parts.stepState.looping = true;
    const loopBar: ProgressBar = {
      tick: (count, fields) => bar.tick(count, fields),
      done: () => {
        this.parts.stepState.looping = false;
        if (this.loopBar === loopBar) this.loopBar = undefined;
        bar.done();
      },
    };
    this.loopBar = loopBar;
    this.barShown = bar !== QUIET_BAR;
    return loopBar;
  }

  /**
   * Appends a metrics line (with `checkpoint: { step, uri, bytes, stallSeconds, uploadSeconds }` when one landed
   * since the last line), logs it and tells step listeners. The log line is `info` when no bar shows the progress
   * (a log file, CI), `debug` under a bar.
   */
  recordStep(record: MetricsRecord): void {
    const landed = this.checkpoints.takeMarker();
    const line = landed ? { ...record, checkpoint: landed } : record;
    this.parts.metrics.append(line);
    this.parts.stepState.last = record.step;
    this.logger[this.barShown ? 'debug' : 'info'](stepFields(record), 'step');
    this.parts.events.emit('step', line);
  }

  /** Drops the metrics lines after `step`: the run goes back there (a fail-over restored an older state). */
  rewindMetrics(step: number): void {
    this.parts.metrics.close();
    this.parts.metrics = this.parts.reopenMetrics(step);
    this.parts.stepState.last = step;
  }

  /** Records a fail-over for summary.json and tells listeners. */
  noteFailover(record: FailoverRecord): void {
    this.failovers.push(record);
    this.parts.events.emit('failover', record);
  }

  /** Why the run should stop early (a signal or a spot notice), or undefined to go on. */
  get stopRequested(): string | undefined {
    return this.stopReason;
  }

  requestStop(reason: string): void {
    this.stopReason ??= reason;
  }

  /** Seconds since the session opened. */
  get wallSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Writes summary.json (with the run's last checkpoint, where it resumed from, its fail-overs) and tells listeners. */
  finish(summary: RunSummary): RunSummary {
    const { lastCheckpoint, resumedFrom } = this.checkpoints;
    const complete: RunSummary = {
      ...summary,
      ...(this.stopReason && summary.stoppedBy === undefined ? { stoppedBy: this.stopReason } : {}),
      ...(lastCheckpoint ? { lastCheckpoint } : {}),
      ...(resumedFrom ? { resumedFrom } : {}),
      ...(this.failovers.length > 0 ? { failovers: this.failovers } : {}),
    };
    this.parts.metrics.writeSummary(complete);
    this.logger.info(stepFields(complete as Record<string, unknown>), 'finished');
    this.parts.events.emit('done', complete);
    return complete;
  }

  /** Closes the metrics files and shuts the runtime down if this session started it. */
  async close(): Promise<void> {
    this.loopBar?.done();
    this.parts.signal?.removeEventListener('abort', this.onAbort);
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
    // Waits for checkpoint uploads still running: the last checkpoint is what a later resume needs.
    await this.checkpoints.close();
    this.parts.metrics.close();
    await this.parts.closeMetricsServer?.();
    if (this.parts.ownsRuntime) await this.runtime.shutdown();
  }
}

const QUIET_BAR: ProgressBar = { tick: () => {}, done: () => {} };

/** The numbers of a record worth a log line: top-level finite numbers (not the phase breakdown or bookkeeping). */
function stepFields(record: Record<string, unknown>): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'number' && Number.isFinite(value) && key !== 'wallTime') fields[key] = value;
  }
  return fields;
}
