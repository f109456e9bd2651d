/**
 * Where checkpoints live: a flat namespace of byte objects addressed by `/`-separated keys relative to the
 * store's root (`s3://bucket/prefix` or `file:///dir`). The checkpoint layout (`layout.ts`) is written on top of
 * this interface; `test/runtime/checkpoint/store-conformance.ts` is the contract every implementation passes.
 *
 * Semantics every implementation guarantees:
 * - `put` is atomic per object: a reader sees the old object, or the whole new one, never a prefix of it.
 * - `get` of a missing key rejects with `CheckpointError` code `CHECKPOINT_OBJECT_NOT_FOUND`.
 * - `list(prefix)` returns every object whose key starts with `prefix` (plain string prefix, any depth), sorted.
 * - `delete` of a missing key succeeds.
 * - Other failures reject with `CheckpointError` code `CHECKPOINT_STORE_FAILED`, `retryable` telling transient
 *   failures (network, 5xx, throttling) from permanent ones (no such bucket, access denied), the real cause in the
 *   message.
 */
import { CheckpointError } from './errors.ts';

/** One object in a listing. */
export interface StoredObject {
  key: string;
  /** Size in bytes. */
  size: number;
}

export interface CheckpointStore {
  /** The URI the store was opened with. */
  readonly uri: string;
  /** Writes `body` under `key`, replacing any previous object. */
  put(key: string, body: Uint8Array): Promise<void>;
  /** The bytes under `key`. */
  get(key: string): Promise<Uint8Array>;
  /** The size of the object under `key`, or undefined when there is none. */
  head(key: string): Promise<{ size: number } | undefined>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Removes the object under `key` (nothing happens when there is none). */
  delete(key: string): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Checks a key: non-empty `/`-separated segments of letters, digits, `.`, `_`, `-`, none starting with `.` (names
 * starting with `.` are reserved for the file store's temporary files). Throws `CHECKPOINT_KEY_INVALID`.
 */
export function assertValidKey(key: string, field = 'key'): void {
  const segments = key.split('/');
  if (key.length === 0 || key.length > 900 || !segments.every((segment) => SEGMENT.test(segment))) {
    throw new CheckpointError(
      'CHECKPOINT_KEY_INVALID',
      `${field} ${JSON.stringify(key)} is not a valid object key: use "/"-separated names of letters, digits, ".", "_" ` +
        `and "-" that do not start with "." (e.g. "policy/rank-0/weights.bin")`,
      { path: field },
    );
  }
}

/** Checks a listing prefix: empty, or a key, or a key followed by `/`. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
}
