/**
 * Finding and loading checkpoints. Resume uses the newest checkpoint whose manifest lists only objects that exist
 * with the right size and sha256; `latest` is read as a hint and verified like everything else, never trusted.
 * A checkpoint that fails is skipped with a warning naming the object and what failed (missing / size / sha256 /
 * manifest), and the next older one is tried.
 */
import { rootLogger, type Logger } from '../logging.ts';
import { CheckpointError } from './errors.ts';
import {
  assertValidRun,
  assertValidStep,
  CheckpointManifest,
  checkpointPrefix,
  LATEST_NAME,
  MANIFEST_NAME,
  parseStepDirectory,
  sha256Hex,
  STATE_NAME,
} from './layout.ts';
import type { CheckpointStore } from './store.ts';

/** One step directory of a run. */
export interface CheckpointSummary {
  step: number;
  /** True when its manifest exists (it may still fail verification). */
  complete: boolean;
  /** Every key under the step directory. */
  keys: string[];
}

/** Why a checkpoint was not used. */
export interface CheckpointProblem {
  step: number;
  /** Full key of the object that failed. */
  object: string;
  failure: 'missing' | 'size' | 'sha256' | 'manifest';
  message: string;
}

export interface VerifiedCheckpoint {
  run: string;
  step: number;
  manifest: CheckpointManifest;
  /** Newer checkpoints that were skipped, newest first. */
  skipped: CheckpointProblem[];
}

export interface LoadedCheckpoint extends VerifiedCheckpoint {
  /** state.json as written (`step` included). */
  state: Record<string, unknown>;
  /** Shards by key, as the typed array they were saved from. */
  shards: Record<string, Float32Array | Uint8Array>;
}

export interface ReaderOptions {
  /** Where warnings about skipped checkpoints go (default: the root logger). */
  logger?: Logger;
  /** Called once per skipped checkpoint, in addition to the log line. */
  onWarning?: (problem: CheckpointProblem) => void;
}

/**
 * Every step directory of `run`, oldest first.
 *
 * @example
 * (await listCheckpoints(store, 'ppo-seed-1')).filter((each) => each.complete).map((each) => each.step); // [100, 200]
 */
export async function listCheckpoints(store: CheckpointStore, run: string): Promise<CheckpointSummary[]> {
  assertValidRun(run);
  const byStep = new Map<number, CheckpointSummary>();
  for (const { key } of await store.list(`${run}/`)) {
    const [, directory, ...rest] = key.split('/');
    const step = directory === undefined || rest.length === 0 ? undefined : parseStepDirectory(directory);
    if (step === undefined) continue;
    const summary = byStep.get(step) ?? { step, complete: false, keys: [] };
    summary.keys.push(key);
    if (rest.join('/') === MANIFEST_NAME) summary.complete = true;
    byStep.set(step, summary);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** The step `<run>/latest` points at, or undefined when there is no (readable) pointer. */
export async function readLatestPointer(store: CheckpointStore, run: string): Promise<number | undefined> {
  assertValidRun(run);
  if ((await store.head(`${run}/${LATEST_NAME}`)) === undefined) return undefined;
  const text = new TextDecoder().decode(await store.get(`${run}/${LATEST_NAME}`)).trim();
  return parseStepDirectory(text);
}

/**
 * The newest checkpoint of `run` whose objects all verify, or undefined when none does (or none exists).
 *
 * @example
 * const found = await findLatestVerified(store, 'ppo-seed-1');
 * if (found) console.log(`resuming from step ${found.step}`);
 */
export async function findLatestVerified(store: CheckpointStore, run: string, options: ReaderOptions = {}): Promise<VerifiedCheckpoint | undefined> {
  const loaded = await scanNewestFirst(store, run, options, false);
  if (!loaded) return undefined;
  return { run: loaded.run, step: loaded.step, manifest: loaded.manifest, skipped: loaded.skipped };
}

/**
 * Loads the newest checkpoint of `run` that verifies, downloading each candidate once (resume's path).
 *
 * @example
 * const checkpoint = await loadLatestVerified(store, 'ppo-seed-1');
 * const weights = checkpoint?.shards['policy/rank-0/weights.bin'] as Float32Array;
 */
export async function loadLatestVerified(store: CheckpointStore, run: string, options: ReaderOptions = {}): Promise<LoadedCheckpoint | undefined> {
  return scanNewestFirst(store, run, options, true);
}

/**
 * Loads one checkpoint, verifying every object; rejects with `CHECKPOINT_CORRUPT` naming the object that failed,
 * or `CHECKPOINT_NOT_FOUND` when the step has no manifest.
 *
 * @example
 * const { state, shards } = await loadCheckpoint(store, 'ppo-seed-1', 100);
 */
export async function loadCheckpoint(store: CheckpointStore, run: string, step: number): Promise<LoadedCheckpoint> {
  assertValidRun(run);
  assertValidStep(step);
  const result = await verifyCheckpoint(store, run, step, true);
  if ('problem' in result) {
    const { problem } = result;
    const code = problem.failure === 'missing' && problem.object.endsWith(MANIFEST_NAME) ? 'CHECKPOINT_NOT_FOUND' : 'CHECKPOINT_CORRUPT';
    throw new CheckpointError(code, problem.message, { path: problem.object });
  }
  return { ...result.loaded, skipped: [] };
}

async function scanNewestFirst(store: CheckpointStore, run: string, options: ReaderOptions, keepBytes: boolean): Promise<LoadedCheckpoint | undefined> {
  assertValidRun(run);
  const logger = options.logger ?? rootLogger();
  const latest = await readLatestPointer(store, run).catch(() => undefined);
  const candidates = (await listCheckpoints(store, run)).filter((summary) => summary.complete).reverse();
  const skipped: CheckpointProblem[] = [];
  for (const candidate of candidates) {
    const result = await verifyCheckpoint(store, run, candidate.step, keepBytes);
    if ('problem' in result) {
      skipped.push(result.problem);
      logger.warn({ run, step: candidate.step, object: result.problem.object, failure: result.problem.failure }, `${result.problem.message}; trying an older checkpoint`);
      options.onWarning?.(result.problem);
      continue;
    }
    if (latest !== undefined && latest !== candidate.step) {
      logger.warn({ run, step: candidate.step, latest }, `"latest" points at step ${latest}, but step ${candidate.step} is the newest checkpoint that verifies; using it`);
    }
    return { ...result.loaded, skipped };
  }
  return undefined;
}

type Verification = { loaded: Omit<LoadedCheckpoint, 'skipped'> } | { problem: CheckpointProblem };

async function verifyCheckpoint(store: CheckpointStore, run: string, step: number, keepBytes: boolean): Promise<Verification> {
  const prefix = checkpointPrefix(run, step);
  const manifestKey = prefix + MANIFEST_NAME;
  const problem = (object: string, failure: CheckpointProblem['failure'], detail: string): Verification => ({
    problem: { step, object, failure, message: `checkpoint ${prefix.slice(0, -1)} is unusable: ${object} ${detail}` },
  });

  const manifestBytes = await getOrUndefined(store, manifestKey);
  if (manifestBytes === undefined) return problem(manifestKey, 'missing', 'is missing');
  let manifest: CheckpointManifest;
  try {
    manifest = CheckpointManifest.parse(JSON.parse(new TextDecoder().decode(manifestBytes)));
  } catch (error) {
    return problem(manifestKey, 'manifest', `is not a valid manifest (${(error as Error).message.split('\n')[0]})`);
  }
  if (manifest.step !== step) return problem(manifestKey, 'manifest', `says step ${manifest.step}, not ${step}`);
  if (!manifest.objects.some((object) => object.key === STATE_NAME)) return problem(manifestKey, 'manifest', `lists no ${STATE_NAME}`);

  const shards: Record<string, Float32Array | Uint8Array> = {};
  let state: Record<string, unknown> = {};
  for (const object of manifest.objects) {
    const key = prefix + object.key;
    const bytes = await getOrUndefined(store, key);
    if (bytes === undefined) return problem(key, 'missing', 'is missing');
    if (bytes.byteLength !== object.bytes) return problem(key, 'size', `has ${bytes.byteLength} bytes, the manifest says ${object.bytes} (truncated or overwritten)`);
    const digest = await sha256Hex(bytes);
    if (digest !== object.sha256) return problem(key, 'sha256', `fails its sha256 check (manifest ${object.sha256.slice(0, 12)}..., object ${digest.slice(0, 12)}...)`);
    if (!keepBytes) continue;
    if (object.key === STATE_NAME) {
      try {
        state = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      } catch (error) {
        return problem(key, 'manifest', `is not JSON (${(error as Error).message})`);
      }
    } else {
      shards[object.key] = object.dtype === 'float32' ? toFloat32(bytes) : bytes;
    }
  }
  return { loaded: { run, step, manifest, state, shards } };
}

async function getOrUndefined(store: CheckpointStore, key: string): Promise<Uint8Array | undefined> {
  try {
    return await store.get(key);
  } catch (error) {
    if (error instanceof CheckpointError && error.code === 'CHECKPOINT_OBJECT_NOT_FOUND') return undefined;
    throw error;
  }
}

/** A Float32Array over the bytes, copied only when the bytes are not 4-byte aligned. */
function toFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new CheckpointError('CHECKPOINT_CORRUPT', `a float32 shard has ${bytes.byteLength} bytes, not a multiple of 4`);
  }
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}
