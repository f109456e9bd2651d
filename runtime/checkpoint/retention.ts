/**
 * Keep-N retention and resume hygiene. Deleting a checkpoint removes its manifest FIRST, so a crash half-way
 * through leaves an incomplete directory (ignored by readers and cleaned up later), never a complete-looking
 * checkpoint with objects missing.
 */
import { listCheckpoints, readLatestPointer, type CheckpointSummary } from './checkpoint-reader.ts';
import { checkpointPrefix, MANIFEST_NAME } from './layout.ts';
import type { CheckpointStore } from './store.ts';

/**
 * Deletes complete checkpoints beyond the newest `keep`, never the one `latest` points at; also deletes incomplete
 * directories older than the oldest checkpoint kept (abandoned by a failed or crashed write: with one writer per
 * run, writes go in step order, so an in-progress checkpoint is always newer than every complete one).
 * Returns the deleted steps.
 *
 * @example
 * await applyRetention(store, 'ppo-seed-1', 3);   // [100] when steps 100..400 exist
 */
export async function applyRetention(store: CheckpointStore, run: string, keep: number): Promise<number[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a positive integer, got ${keep}`);
  const summaries = await listCheckpoints(store, run);
  const latest = await readLatestPointer(store, run);
  const complete = summaries.filter((summary) => summary.complete);
  const kept = new Set(complete.slice(-keep).map((summary) => summary.step));
  if (latest !== undefined) kept.add(latest);
  if (kept.size === 0) return [];
  const oldestKept = Math.min(...kept);
  const doomed = summaries.filter((summary) => !kept.has(summary.step) && (summary.complete || summary.step < oldestKept));
  for (const summary of doomed) await deleteCheckpoint(store, run, summary);
  return doomed.map((summary) => summary.step);
}

/**
 * Deletes every checkpoint newer than `step`. A run resumed from `step` calls this before its first save, so that
 * checkpoints of the abandoned future (e.g. corrupt ones that made resume fall back) can never be mistaken for
 * the new timeline's.
 *
 * @example
 * const resumed = await loadLatestVerified(store, run);
 * if (resumed) await discardCheckpointsAfter(store, run, resumed.step);
 */
export async function discardCheckpointsAfter(store: CheckpointStore, run: string, step: number): Promise<number[]> {
  const doomed = (await listCheckpoints(store, run)).filter((summary) => summary.step > step);
  for (const summary of doomed.reverse()) await deleteCheckpoint(store, run, summary);
  return doomed.map((summary) => summary.step);
}

async function deleteCheckpoint(store: CheckpointStore, run: string, summary: CheckpointSummary): Promise<void> {
  const manifestKey = checkpointPrefix(run, summary.step) + MANIFEST_NAME;
  if (summary.keys.includes(manifestKey)) await store.delete(manifestKey);
  for (const key of summary.keys) if (key !== manifestKey) await store.delete(key);
}
