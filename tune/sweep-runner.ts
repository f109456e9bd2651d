import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError } from '../runtime/errors.ts';
import { rootLogger } from '../runtime/logging.ts';
import type { ParamValue } from './distributions.ts';
import { TrialFinishedError, TrialPruned } from './errors.ts';
import { type HeartbeatOptions, startHeartbeat } from './heartbeat.ts';
import { type SearchSpace, suggestFromSpace } from './search-space.ts';
import { countTowardTarget, failLostTrials, markSweepLive, requeueTrial, retriedNumbers, SWEEP_OWNER_KEY, type SweepOwner } from './sweep-recovery.ts';
import type { Study } from './study.ts';
import type { Trial } from './trial.ts';
import type { FrozenTrial } from './types.ts';

export { SWEEP_OWNER_KEY };
/** Trial user attribute: milliseconds from the prune decision until every release hook resolved. */
export const RELEASE_MS_KEY = 'release_ms';

/** One trial as `runTrial` receives it. */
export interface SweepTrial {
  readonly number: number;
  readonly trialId: number;
  /** A value for every parameter of the space (sampled, enqueued, or carried over from the lost trial it retries). */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The study trial, for extra suggestions or user attributes. */
  readonly trial: Trial;
  /** When this trial re-runs one lost with a dead sweep: the original trial's number. */
  readonly retryOf: number | undefined;
}

/** What `runTrial` uses to talk to the sweep while it runs. */
export interface TrialSignals {
  /** Aborted (reason: TrialPruned) the moment the pruner stops this trial; stop working when it fires. */
  readonly signal: AbortSignal;
  /**
   * Reports the metric at a training step: stores it and asks the pruner. Returns true when the trial is pruned;
   * the release hooks have then already been called, in the same tick as the decision.
   */
  report(value: number, step: number): boolean;
  /** Registers how to free this trial's resources (kill its actors, remove its placement group). */
  onRelease(release: () => void | Promise<void>): void;
}

/** What `runTrial` resolves with: the final metric, optionally with user attributes to store. */
export type TrialResult = number | { value: number; userAttrs?: Record<string, unknown> };

export interface SweepProgress {
  readonly running: number;
  readonly complete: number;
  readonly pruned: number;
  /** Failed trials, not counting lost ones that were queued again. */
  readonly failed: number;
  /** The `trials` target. */
  readonly total: number;
  readonly best: { number: number; value: number; params: Readonly<Record<string, ParamValue>> } | undefined;
  /** What just happened. */
  readonly event: { kind: 'started' | 'complete' | 'pruned' | 'failed' | 'lost' | 'stopped'; trialNumber: number };
}

export interface RunSweepOptions {
  study: Study;
  space: SearchSpace;
  /** Finished trials the study should hold at the end (lost-and-retried ones do not count); queued trials run even past it. */
  trials: number;
  /** Trials running at once. */
  concurrency: number;
  runTrial: (trial: SweepTrial, signals: TrialSignals) => Promise<TrialResult>;
  onProgress?: (progress: SweepProgress) => void;
  /** Default: a heartbeat every 10 s, a trial silent for 60 s is lost. */
  heartbeat?: HeartbeatOptions;
  /** How many times one configuration is re-run after being lost. Default 2. */
  maxRetry?: number;
  /**
   * Stops the sweep (e.g. on Ctrl-C): no new trials start, running ones are aborted and released, marked FAIL and
   * queued again so that the next run re-runs them; `runSweep` then resolves.
   */
  signal?: AbortSignal;
}

export interface SweepSummary {
  /** Every trial of the study at the end. */
  readonly trials: FrozenTrial[];
  readonly best: FrozenTrial | undefined;
  /** `release_ms` of each trial this run pruned. */
  readonly releaseMs: number[];
  /** Numbers of trials found lost (dead sweep, stale heartbeat) and failed by this run. */
  readonly lost: number[];
  /** True when `signal` stopped the sweep before its target. */
  readonly stopped: boolean;
}

interface RunningTrial {
  readonly trial: Trial;
  readonly controller: AbortController;
  readonly releases: (() => void | Promise<void>)[];
  readonly stopHeartbeat: () => void;
  /** Set once the trial's fate is decided (pruned, finished, failed); later signals are ignored. */
  ended: boolean;
}

/**
 * Runs a sweep: keeps `concurrency` trials going until the study holds `trials` finished ones. Each trial gets its
 * parameters from the study's sampler, reports through `signals.report`, and is pruned by the study's pruner; on a
 * prune the trial's release hooks are called at once and `release_ms` is stored on the trial before it is told
 * PRUNED (with its last reported value). A failing `runTrial` fails its trial, not the sweep.
 *
 * Resuming: run it again on the same study. Trials left RUNNING by a dead sweep are failed (at once when their
 * owner was a process on this host that no longer exists; otherwise when their heartbeat is older than the grace
 * period, Optuna's `fail_stale_trials`) and each is queued again as a WAITING trial with the same parameters and
 * Optuna's retry attributes (`failed_trial`, `retry_history`), up to `maxRetry` times. Finished trials are never
 * re-run, so nothing is duplicated and nothing is lost.
 *
 * @example
 * const summary = await runSweep({
 *   study, space, trials: 16, concurrency: 4,
 *   runTrial: async ({ params }, signals) => {
 *     const group = await startTrainers(params);
 *     signals.onRelease(() => group.remove());
 *     for await (const { step, reward } of group.train()) if (signals.report(reward, step)) break;
 *     return group.finalMetric();
 *   },
 * });
 */
export async function runSweep(options: RunSweepOptions): Promise<SweepSummary> {
  const problems: { path: string; message: string }[] = [];
  if (!Number.isInteger(options.trials) || options.trials < 1) problems.push({ path: 'trials', message: `must be a positive integer; got ${options.trials}` });
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) problems.push({ path: 'concurrency', message: `must be a positive integer; got ${options.concurrency}` });
  if (problems.length > 0) throw new ConfigError(problems);
  return new SweepRunner(options).run();
}

class SweepRunner {
  private readonly options: RunSweepOptions;
  private readonly study: Study;
  private readonly heartbeat: Required<HeartbeatOptions>;
  private readonly owner: SweepOwner;
  private readonly running = new Map<number, RunningTrial>();
  private readonly work: Promise<unknown>[] = [];
  private readonly releaseMs: number[] = [];
  private readonly lost: number[] = [];
  private resolve!: (summary: SweepSummary) => void;
  private reject!: (error: unknown) => void;
  private finished = false;
  private stoppedBySignal = false;

  constructor(options: RunSweepOptions) {
    this.options = options;
    this.study = options.study;
    const interval = options.heartbeat?.intervalSeconds ?? 10;
    this.heartbeat = { intervalSeconds: interval, gracePeriodSeconds: options.heartbeat?.gracePeriodSeconds ?? (options.heartbeat ? 2 * interval : 60) };
    this.owner = { host: hostname(), pid: process.pid, sweep: randomUUID() };
  }

  run(): Promise<SweepSummary> {
    markSweepLive(this.owner.sweep, true);
    this.study.beginRun();
    const onAbort = (): void => this.stopAll(this.options.signal?.reason);
    return new Promise<SweepSummary>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (this.options.signal?.aborted) onAbort();
      else this.options.signal?.addEventListener('abort', onAbort, { once: true });
      this.fill();
    }).finally(() => {
      markSweepLive(this.owner.sweep, false);
      this.options.signal?.removeEventListener('abort', onAbort);
    });
  }

  /** Starts trials while there are free slots and trials to run; resolves the sweep when nothing is left. */
  private fill(): void {
    if (this.finished) return;
    try {
      this.recoverLostTrials();
      while (this.running.size < this.options.concurrency && !this.study.stopped && this.hasTrialToStart()) this.launch();
      if (this.running.size === 0) {
        this.finished = true;
        // Pruned trials' runTrial promises may still be winding down; never leave work running after we resolve.
        void Promise.allSettled(this.work).then(() => this.resolve(this.summary()));
      }
    } catch (error) {
      this.abortSweep(error);
    }
  }

  /**
   * A queued (WAITING) trial always starts: `ask` takes it first, and a lost trial's re-run counts toward the target
   * while it waits. Otherwise a new trial starts while the target exceeds the trials that are finished (and not
   * superseded), running or queued.
   */
  private hasTrialToStart(): boolean {
    const trials = this.study.trials;
    return trials.some((trial) => trial.state === 'WAITING') || countTowardTarget(trials) < this.options.trials;
  }

  private launch(): void {
    // The trial, its owner, first heartbeat and parameters are stored in one transaction: a sweep killed at any
    // moment leaves no trial, or one that a later sweep recognises as lost and re-runs with the same parameters.
    const started = this.study.storage.atomically(() => {
      const trial = this.study.ask({}, { systemAttrs: { [SWEEP_OWNER_KEY]: this.owner }, heartbeat: true });
      try {
        return { trial, params: suggestFromSpace(trial, this.options.space) };
      } catch (error) {
        return { trial, error };
      }
    });
    const { trial } = started;
    if ('error' in started) {
      // The space does not fit the study (e.g. a parameter changed kind): a user mistake that every trial would repeat.
      this.study.tell(trial, 'FAIL');
      throw started.error;
    }
    const { params } = started;
    const stopHeartbeat = startHeartbeat(this.study.storage, trial.trialId, this.heartbeat.intervalSeconds);
    const state: RunningTrial = { trial, controller: new AbortController(), releases: [], stopHeartbeat, ended: false };
    this.running.set(trial.trialId, state);
    this.emit('started', trial.number);
    const sweepTrial: SweepTrial = {
      number: trial.number,
      trialId: trial.trialId,
      params,
      trial,
      retryOf: trial.systemAttrs.failed_trial as number | undefined,
    };
    const signals: TrialSignals = {
      signal: state.controller.signal,
      report: (value, step) => this.report(state, value, step),
      onRelease: (release) => void state.releases.push(release),
    };
    this.work.push(
      Promise.resolve()
        .then(() => this.options.runTrial(sweepTrial, signals))
        .then(
          (result) => this.settle(state, () => this.complete(state, result)),
          (error: unknown) => this.settle(state, () => this.failOrPrune(state, error)),
        ),
    );
  }

  private report(state: RunningTrial, value: number, step: number): boolean {
    if (state.ended) return true;
    state.trial.report(value, step);
    if (!state.trial.shouldPrune()) return false;
    this.prune(state, step);
    return true;
  }

  /** The prune decision: abort the trial and call every release hook in this same tick, then time them. */
  private prune(state: RunningTrial, step: number): void {
    state.ended = true;
    const decidedAt = performance.now();
    state.controller.abort(new TrialPruned(`trial ${state.trial.number} pruned at step ${step}`));
    this.work.push(
      release(state).then((outcomes) => {
        try {
          const releaseMs = Math.round((performance.now() - decidedAt) * 100) / 100;
          this.releaseMs.push(releaseMs);
          setAttr(state, RELEASE_MS_KEY, releaseMs);
          const errors = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String((outcome.reason as Error)?.message ?? outcome.reason)] : []));
          if (errors.length > 0) setAttr(state, 'release_error', errors.join('; '));
          this.end(state, 'PRUNED');
        } catch (error) {
          this.abortSweep(error);
        }
      }),
    );
  }

  private settle(state: RunningTrial, body: () => void): void {
    if (state.ended) return;
    state.ended = true;
    try {
      body();
    } catch (error) {
      this.abortSweep(error);
    }
  }

  private complete(state: RunningTrial, result: TrialResult): void {
    const value = typeof result === 'number' ? result : result?.value;
    if (typeof result === 'object' && result !== null) for (const [key, attr] of Object.entries(result.userAttrs ?? {})) setAttr(state, key, attr);
    this.end(state, typeof value === 'number' ? value : NaN);
  }

  private failOrPrune(state: RunningTrial, error: unknown): void {
    if (error instanceof TrialPruned) return this.end(state, 'PRUNED');
    rootLogger().warn({ trial: state.trial.number, err: error }, 'sweep trial failed');
    setAttr(state, 'error', error instanceof Error ? error.message : String(error));
    this.end(state, 'FAIL');
  }

  /** Tells the study, frees the slot, reports progress and starts what can start. */
  private end(state: RunningTrial, outcome: number | 'PRUNED' | 'FAIL'): void {
    state.stopHeartbeat();
    let told: FrozenTrial | undefined;
    try {
      told = this.study.tell(state.trial, outcome);
    } catch (error) {
      // Another process (a stale-trial sweeper) finished it first; its state stands.
      if (!(error instanceof TrialFinishedError)) throw error;
    }
    this.running.delete(state.trial.trialId);
    const kind = told?.state === 'COMPLETE' ? 'complete' : told?.state === 'PRUNED' ? 'pruned' : 'failed';
    this.emit(kind, state.trial.number);
    this.fill();
  }

  /** The sweep was asked to stop: release every running trial, fail it and queue its configuration again. */
  private stopAll(reason: unknown): void {
    if (this.finished) return;
    this.stoppedBySignal = true;
    this.study.stop();
    for (const state of this.running.values()) {
      if (state.ended) continue;
      state.ended = true;
      state.controller.abort(reason);
      this.work.push(
        release(state).then(() => {
          try {
            setAttr(state, 'error', `sweep stopped: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`);
            state.stopHeartbeat();
            this.study.tell(state.trial, 'FAIL');
            requeueTrial(this.study, this.study.storage.getTrial(state.trial.trialId), this.options.maxRetry ?? 2);
            this.running.delete(state.trial.trialId);
            this.emit('stopped', state.trial.number);
            this.fill();
          } catch (error) {
            this.abortSweep(error);
          }
        }),
      );
    }
    this.fill();
  }

  /** A storage or configuration error ends the sweep: every running trial is aborted and released first. */
  private abortSweep(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    for (const state of this.running.values()) {
      state.stopHeartbeat();
      if (state.ended) continue;
      state.ended = true;
      state.controller.abort(error);
      this.work.push(release(state));
    }
    void Promise.allSettled(this.work).then(() => this.reject(error));
  }

  /** Fails trials a dead sweep left RUNNING and queues their configurations again. */
  private recoverLostTrials(): void {
    for (const trial of failLostTrials(this.study, this.heartbeat, this.owner, new Set(this.running.keys()))) {
      this.lost.push(trial.number);
      this.emit('lost', trial.number);
      requeueTrial(this.study, trial, this.options.maxRetry ?? 2);
    }
  }

  private emit(kind: SweepProgress['event']['kind'], trialNumber: number): void {
    if (!this.options.onProgress) return;
    const trials = this.study.trials;
    const retried = retriedNumbers(trials);
    const count = (predicate: (trial: FrozenTrial) => boolean): number => trials.filter(predicate).length;
    let best: FrozenTrial | undefined;
    try {
      best = this.study.bestTrial;
    } catch {
      best = undefined;
    }
    this.options.onProgress({
      running: count((trial) => trial.state === 'RUNNING'),
      complete: count((trial) => trial.state === 'COMPLETE'),
      pruned: count((trial) => trial.state === 'PRUNED'),
      failed: count((trial) => trial.state === 'FAIL' && !retried.has(trial.number)),
      total: this.options.trials,
      best: best ? { number: best.number, value: best.value!, params: best.params } : undefined,
      event: { kind, trialNumber },
    });
  }

  private summary(): SweepSummary {
    let best: FrozenTrial | undefined;
    try {
      best = this.study.bestTrial;
    } catch {
      best = undefined;
    }
    return { trials: this.study.trials, best, releaseMs: this.releaseMs, lost: this.lost, stopped: this.stoppedBySignal };
  }
}

/** Sets a user attribute unless another process already finished the trial (its record then stands as is). */
function setAttr(state: RunningTrial, key: string, value: unknown): void {
  try {
    state.trial.setUserAttr(key, value);
  } catch (error) {
    if (!(error instanceof TrialFinishedError)) throw error;
  }
}

/** Calls every release hook of a trial now (synchronously, in this tick) and waits for all of them. */
function release(state: RunningTrial): Promise<PromiseSettledResult<void>[]> {
  return Promise.allSettled(
    state.releases.map((hook) => {
      try {
        return Promise.resolve(hook());
      } catch (error) {
        return Promise.reject(error);
      }
    }),
  );
}
