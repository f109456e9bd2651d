import { TrialFinishedError } from './errors.ts';
import type { SqliteStorage } from './storage/sqlite-storage.ts';
import type { FrozenTrial } from './types.ts';

/** Heartbeat settings (Optuna's `heartbeat_interval` / `grace_period`, in seconds as there). */
export interface HeartbeatOptions {
  /** How often a running trial writes `trial_heartbeats`. */
  intervalSeconds: number;
  /** How long without a heartbeat before the trial counts as dead. Default: 2 x interval (Optuna's default). */
  gracePeriodSeconds?: number;
}

/**
 * Writes a trial's heartbeat now and every `intervalSeconds` until stopped. The timer is unref'd so it never
 * keeps a process alive on its own.
 *
 * @example
 * const stop = startHeartbeat(storage, trial.trialId, 10);
 * try { await work(); } finally { stop(); }
 */
export function startHeartbeat(storage: SqliteStorage, trialId: number, intervalSeconds: number): () => void {
  storage.recordHeartbeat(trialId);
  const timer = setInterval(() => {
    try {
      storage.recordHeartbeat(trialId);
    } catch {
      // A failed heartbeat write is what staleness detection is for; never crash the trial over it.
    }
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Marks every RUNNING trial whose heartbeat is older than the grace period as FAIL and returns them (Optuna's
 * `fail_stale_trials`). Trials that never wrote a heartbeat are left alone, as in Optuna, and so are the trial ids
 * in `exclude`.
 *
 * @example
 * for (const trial of failStaleTrials(storage, studyId, { intervalSeconds: 10 })) console.log('lost', trial.number);
 */
export function failStaleTrials(
  storage: SqliteStorage,
  studyId: number,
  heartbeat: HeartbeatOptions,
  options: { exclude?: ReadonlySet<number> } = {},
): FrozenTrial[] {
  const grace = heartbeat.gracePeriodSeconds ?? 2 * heartbeat.intervalSeconds;
  const failed: FrozenTrial[] = [];
  for (const trialId of storage.getStaleTrialIds(studyId, grace)) {
    // The caller's own live trials: a late heartbeat there means a busy event loop, not a dead trial.
    if (options.exclude?.has(trialId)) continue;
    try {
      if (storage.setTrialStateValues(trialId, 'FAIL')) failed.push(storage.getTrial(trialId));
    } catch (error) {
      // Another process finished or failed it first.
      if (!(error instanceof TrialFinishedError)) throw error;
    }
  }
  return failed;
}
