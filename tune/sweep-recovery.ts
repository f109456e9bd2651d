import { TrialFinishedError } from './errors.ts';
import { failStaleTrials, type HeartbeatOptions } from './heartbeat.ts';
import { rootLogger } from '../runtime/logging.ts';
import type { Study } from './study.ts';
import type { FrozenTrial } from './types.ts';

/**
 * How a sweep finds trials that a dead sweep left RUNNING and queues their configurations again. The retry
 * bookkeeping is Optuna's `RetryFailedTrialCallback` format (`failed_trial`, `retry_history`), so Optuna users
 * and tools read it the same way.
 */

/** Trial system attribute naming the sweep process that runs it: `{ host, pid, sweep }`. */
export const SWEEP_OWNER_KEY = 'posttrain:sweep';

export interface SweepOwner {
  readonly host: string;
  readonly pid: number;
  /** Random id of one `runSweep` call. */
  readonly sweep: string;
}

/** Sweeps running in this process, so a trial owned by a finished run of this process counts as lost. */
const liveSweeps = new Set<string>();

export function markSweepLive(sweep: string, live: boolean): void {
  if (live) liveSweeps.add(sweep);
  else liveSweeps.delete(sweep);
}

/** Numbers of FAIL trials that a later trial re-runs (they no longer count toward the sweep's target). */
export function retriedNumbers(trials: readonly FrozenTrial[]): Set<number> {
  const retried = new Set<number>();
  for (const trial of trials) for (const number of (trial.systemAttrs.retry_history as number[] | undefined) ?? []) retried.add(number);
  return retried;
}

/** Trials that count toward the target: finished and not superseded by a retry, running, or queued. */
export function countTowardTarget(trials: readonly FrozenTrial[]): number {
  const retried = retriedNumbers(trials);
  return trials.filter((trial) => !(trial.state === 'FAIL' && retried.has(trial.number))).length;
}

/**
 * Fails every RUNNING trial whose sweep is gone and returns them: heartbeat older than the grace period (Optuna's
 * `fail_stale_trials`), or an owner that is provably dead (a finished run in this process, a vanished process on
 * this host). Trials in `ownRunning` (this sweep's) are never touched.
 */
export function failLostTrials(study: Study, heartbeat: Required<HeartbeatOptions>, owner: SweepOwner, ownRunning: ReadonlySet<number>): FrozenTrial[] {
  const storage = study.storage;
  const lost = failStaleTrials(storage, study.studyId, heartbeat, { exclude: ownRunning });
  for (const trial of study.getTrials(['RUNNING'])) {
    if (ownRunning.has(trial.trialId) || !ownerIsGone(trial.systemAttrs[SWEEP_OWNER_KEY], owner.host)) continue;
    try {
      if (storage.setTrialStateValues(trial.trialId, 'FAIL')) lost.push(storage.getTrial(trial.trialId));
    } catch (error) {
      // Another process failed or finished it first.
      if (!(error instanceof TrialFinishedError)) throw error;
    }
  }
  return lost;
}

/**
 * Queues a failed trial's configuration again as a WAITING trial with the same parameters and user attributes
 * (Optuna's RetryFailedTrialCallback), unless it was already retried `maxRetry` times. Returns whether it queued.
 */
export function requeueTrial(study: Study, trial: FrozenTrial, maxRetry: number): boolean {
  const history = [...((trial.systemAttrs.retry_history as number[] | undefined) ?? []), trial.number];
  if (history.length > maxRetry) {
    rootLogger().warn({ trial: trial.number, retries: history.length - 1 }, 'lost trial not re-run: retry limit reached');
    return false;
  }
  // Rung records belong to the lost run; the grid point and fixed parameters carry over.
  const systemAttrs = Object.fromEntries(Object.entries(trial.systemAttrs).filter(([key]) => key !== SWEEP_OWNER_KEY && !key.startsWith('completed_rung_')));
  study.storage.createTrial(study.studyId, {
    state: 'WAITING',
    params: Object.fromEntries(Object.entries(trial.params).map(([name, value]) => [name, { value, distribution: trial.distributions[name]! }])),
    userAttrs: { ...trial.userAttrs },
    systemAttrs: { failed_trial: (trial.systemAttrs.failed_trial as number | undefined) ?? trial.number, ...systemAttrs, retry_history: history },
  });
  return true;
}

/** True when the recorded owner is provably dead: a finished run of this process, or a vanished local process. */
function ownerIsGone(owner: unknown, host: string): boolean {
  if (typeof owner !== 'object' || owner === null) return false;
  const { host: ownerHost, pid, sweep } = owner as Partial<SweepOwner>;
  if (ownerHost !== host || typeof pid !== 'number') return false;
  if (pid === process.pid) return typeof sweep === 'string' && !liveSweeps.has(sweep);
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
