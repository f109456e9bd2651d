/**
 * The in-memory copy a checkpoint is uploaded from. Taking it is the only part of checkpointing the training loop
 * waits for: one memcpy per shard and one JSON.stringify of the state, after which training may overwrite its
 * weights while the upload runs in the background.
 */
import { CheckpointError } from './errors.ts';
import { assertValidStep, STATE_NAME, MANIFEST_NAME, type ShardDtype } from './layout.ts';
import { assertValidKey } from './store.ts';

/** What a trainer hands to `CheckpointWriter.save`. */
export interface CheckpointInput {
  /**
   * One typed array per role shard, keyed by its path inside the step directory, e.g.
   * `policy/rank-0/weights.bin` (flat weights) and `policy/rank-0/optimizer.bin` (Adam moments).
   */
  shards: Record<string, Float32Array | Uint8Array>;
  /**
   * JSON-safe state: RNG states, data cursor, KL controller, trial id, resolved config... Written as `state.json`
   * with `step` added.
   */
  state: Record<string, unknown>;
}

export interface SnapshotObject {
  /** Key relative to the step directory. */
  key: string;
  bytes: Uint8Array;
  dtype: ShardDtype | 'json';
}

export interface CheckpointSnapshot {
  step: number;
  createdAt: string;
  /** Shards in key order, then state.json. */
  objects: SnapshotObject[];
  /** Total bytes of all objects. */
  totalBytes: number;
}

/**
 * Copies shards and serialises state. Throws `CHECKPOINT_INPUT_INVALID` naming the field for a bad shard name,
 * an unsupported array type, or state that is not JSON-serialisable.
 *
 * @example
 * const snapshot = takeSnapshot(100, { shards: { 'policy/rank-0/weights.bin': weights }, state: { dataCursor: 6400 } });
 */
export function takeSnapshot(step: number, input: CheckpointInput): CheckpointSnapshot {
  assertValidStep(step);
  const objects: SnapshotObject[] = [];
  for (const key of Object.keys(input.shards).sort()) {
    const shard = input.shards[key]!;
    assertValidKey(key, `shards["${key}"]`);
    if (key === STATE_NAME || key === MANIFEST_NAME) {
      throw new CheckpointError('CHECKPOINT_INPUT_INVALID', `shard name "${key}" is reserved for the checkpoint itself`, {
        path: `shards["${key}"]`,
      });
    }
    const dtype: ShardDtype | undefined = shard instanceof Float32Array ? 'float32' : shard instanceof Uint8Array ? 'uint8' : undefined;
    if (dtype === undefined) {
      throw new CheckpointError(
        'CHECKPOINT_INPUT_INVALID',
        `shard "${key}" is a ${(shard as object)?.constructor?.name ?? typeof shard}; expected a Float32Array or Uint8Array`,
        { path: `shards["${key}"]` },
      );
    }
    // ArrayBuffer.slice copies: the snapshot no longer shares memory with the trainer's live buffers.
    const copy = new Uint8Array(shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength));
    objects.push({ key, bytes: copy, dtype });
  }
  objects.push({ key: STATE_NAME, bytes: serialiseState(step, input.state), dtype: 'json' });
  const totalBytes = objects.reduce((sum, object) => sum + object.bytes.byteLength, 0);
  return { step, createdAt: new Date().toISOString(), objects, totalBytes };
}

function serialiseState(step: number, state: Record<string, unknown>): Uint8Array {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    throw new CheckpointError('CHECKPOINT_INPUT_INVALID', 'state must be a plain JSON object', { path: 'state' });
  }
  if ('step' in state && state.step !== step) {
    throw new CheckpointError('CHECKPOINT_INPUT_INVALID', `state.step (${String(state.step)}) differs from the saved step (${step})`, {
      path: 'state.step',
    });
  }
  let text: string;
  try {
    text = JSON.stringify({ step, ...state });
  } catch (error) {
    throw new CheckpointError('CHECKPOINT_INPUT_INVALID', `state is not JSON-serialisable: ${(error as Error).message}`, {
      path: 'state',
      cause: error,
    });
  }
  return new TextEncoder().encode(text);
}
