/**
 * The checkpoint layout on top of a `CheckpointStore` (ARCHITECTURE.md section 4):
 *
 *   <run>/step-000100/policy/rank-0/weights.bin     one object per role shard (raw little-endian bytes)
 *   <run>/step-000100/policy/rank-0/optimizer.bin
 *   <run>/step-000100/state.json                    { step, rng, dataCursor, klController, trialId, config, ... }
 *   <run>/step-000100/manifest.json                 written LAST: every object above with its size and sha256
 *   <run>/latest                                    "step-000100\n", written after the manifest
 *
 * A checkpoint is complete exactly when its manifest exists; it is valid when every object the manifest lists
 * exists with the listed size and sha256.
 */
import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import { CheckpointError } from './errors.ts';

export const MANIFEST_NAME = 'manifest.json';
export const STATE_NAME = 'state.json';
export const LATEST_NAME = 'latest';
export const MANIFEST_FORMAT = 'posttrain-checkpoint';

/** How a shard's bytes are to be read back. */
export type ShardDtype = 'float32' | 'uint8';

const ManifestObject = z
  .object({
    /** Key relative to the step directory, e.g. `policy/rank-0/weights.bin`. */
    key: z.string().min(1),
    /** Size in bytes. */
    bytes: z.number().int().nonnegative(),
    /** Hex sha256 of the bytes. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** `float32` / `uint8` shards, or `json` for state.json. */
    dtype: z.enum(['float32', 'uint8', 'json']),
  })
  .strict();

export const CheckpointManifest = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    version: z.literal(1),
    run: z.string(),
    step: z.number().int().nonnegative(),
    /** ISO time the snapshot was taken. */
    createdAt: z.string(),
    objects: z.array(ManifestObject),
  })
  .strict();
export type CheckpointManifest = z.infer<typeof CheckpointManifest>;
export type ManifestObject = z.infer<typeof ManifestObject>;

/**
 * `step-000100` (six digits at least; longer steps keep all their digits and still sort by parsed number).
 *
 * @example
 * stepDirectory(100);                   // 'step-000100'
 * parseStepDirectory('step-1234567');   // 1234567
 */
export function stepDirectory(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** The step a `step-000100` directory name stands for, or undefined for any other name. */
export function parseStepDirectory(name: string): number | undefined {
  const match = /^step-(\d{6,})$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Key prefix of one checkpoint: `<run>/step-000100/`. */
export function checkpointPrefix(run: string, step: number): string {
  return `${run}/${stepDirectory(step)}/`;
}

/** Checks a run name (one path segment) and a step, the two things every layout call is addressed by. */
export function assertValidRun(run: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(run)) {
    throw new CheckpointError(
      'CHECKPOINT_INPUT_INVALID',
      `run name ${JSON.stringify(run)} must be 1-200 letters, digits, ".", "_" or "-", not starting with "."`,
      { path: 'run' },
    );
  }
}

export function assertValidStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new CheckpointError('CHECKPOINT_INPUT_INVALID', `step must be a non-negative integer, got ${step}`, { path: 'step' });
  }
}

/**
 * Hex sha256 of `bytes`, hashed in 4 MiB slices with a yield to the event loop between them, so hashing a large
 * checkpoint in the background never blocks the training loop for long.
 */
export async function sha256Hex(bytes: Uint8Array, sliceBytes = 4 * 1024 * 1024): Promise<string> {
  const hash = createHash('sha256');
  for (let offset = 0; offset < bytes.byteLength; offset += sliceBytes) {
    if (offset > 0) await yieldToEventLoop();
    hash.update(bytes.subarray(offset, Math.min(offset + sliceBytes, bytes.byteLength)));
  }
  return hash.digest('hex');
}
