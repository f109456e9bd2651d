import { PosttrainError } from '../errors.ts';

/**
 * Why a collective failed. Every code names the rank(s) at fault in `ranks`:
 * - `COLLECTIVE_TIMEOUT`: the ranks that did not arrive (or whose data stopped) before the deadline;
 * - `COLLECTIVE_PEER_LOST`: a peer's connection dropped (its process died or its link was cut);
 * - `COLLECTIVE_MISMATCH`: ranks called different operations, reduce ops, roots or sizes at the same position;
 * - `COLLECTIVE_ABORTED`: the communicator is already broken (by an earlier failure here or on a peer);
 * - `COLLECTIVE_DESTROYED`: `destroy()` was called on this communicator;
 * - `COLLECTIVE_RENDEZVOUS_FAILED`: the ranks could not form the group (unreachable root, bad secret, duplicate rank);
 * - `COLLECTIVE_BACKEND_UNAVAILABLE`: the backend cannot run here (e.g. `nccl` without NCCL and CUDA);
 * - `COLLECTIVE_PROTOCOL`: a peer sent bytes that do not follow the protocol;
 * - `COLLECTIVE_SHM_FULL`: the shared-memory directory has no room for the buffer (Docker's 64 MB /dev/shm).
 */
export type CollectiveErrorCode =
  | 'COLLECTIVE_TIMEOUT'
  | 'COLLECTIVE_PEER_LOST'
  | 'COLLECTIVE_MISMATCH'
  | 'COLLECTIVE_ABORTED'
  | 'COLLECTIVE_DESTROYED'
  | 'COLLECTIVE_RENDEZVOUS_FAILED'
  | 'COLLECTIVE_BACKEND_UNAVAILABLE'
  | 'COLLECTIVE_PROTOCOL'
  | 'COLLECTIVE_SHM_FULL';

/**
 * A collective operation (or forming a communicator) failed. `ranks` names the ranks at fault, `operation` the
 * operation (`allreduce #12`), and the message says what to do. After any failure the communicator is broken:
 * re-form the group from a new unique id (see `createCommunicator`).
 *
 * @example
 * try {
 *   await communicator.allreduce(gradients, { op: 'mean' });
 * } catch (error) {
 *   if (error instanceof CollectiveError) console.error(error.code, error.ranks); // 'COLLECTIVE_PEER_LOST' [2]
 * }
 */
export class CollectiveError extends PosttrainError {
  /** The ranks at fault: missing, disconnected or mismatched. Empty when no single rank is to blame. */
  readonly ranks: number[];
  /** The operation that failed, e.g. `allreduce #12`, or `init` for forming the communicator. */
  readonly operation: string;

  constructor(
    code: CollectiveErrorCode,
    message: string,
    options: { ranks?: number[]; operation?: string; cause?: unknown } = {},
  ) {
    super(code, message, { path: options.operation, cause: options.cause });
    this.ranks = options.ranks ?? [];
    this.operation = options.operation ?? '';
  }

  override toJSON(): { name: string; code: string; path?: string; message: string; ranks: number[] } {
    return { ...super.toJSON(), ranks: this.ranks };
  }
}

/**
 * A collective did not complete before its deadline. `ranks` are the ranks that did not arrive at the operation
 * (or, when all arrived, the ranks whose data stopped coming).
 *
 * @example
 * await communicator.barrier({ timeoutMs: 1_000 }).catch((error: CollectiveTimeoutError) => error.ranks); // [2]
 */
export class CollectiveTimeoutError extends CollectiveError {
  constructor(message: string, options: { ranks: number[]; operation: string; cause?: unknown }) {
    super('COLLECTIVE_TIMEOUT', message, options);
  }
}

/** Rebuild a peer's error from its plain-data form (an abort message), keeping its class and ranks. */
export function collectiveErrorFromData(data: { code: string; message: string; ranks: number[]; operation: string }): CollectiveError {
  if (data.code === 'COLLECTIVE_TIMEOUT') return new CollectiveTimeoutError(data.message, data);
  const code = (KNOWN_CODES as readonly string[]).includes(data.code) ? (data.code as CollectiveErrorCode) : 'COLLECTIVE_ABORTED';
  return new CollectiveError(code, data.message, data);
}

const KNOWN_CODES = [
  'COLLECTIVE_TIMEOUT',
  'COLLECTIVE_PEER_LOST',
  'COLLECTIVE_MISMATCH',
  'COLLECTIVE_ABORTED',
  'COLLECTIVE_DESTROYED',
  'COLLECTIVE_RENDEZVOUS_FAILED',
  'COLLECTIVE_BACKEND_UNAVAILABLE',
  'COLLECTIVE_PROTOCOL',
  'COLLECTIVE_SHM_FULL',
] as const satisfies readonly CollectiveErrorCode[];
