import { status as GrpcStatus } from '@grpc/grpc-js';
import pRetry from 'p-retry';
import { GrpcCallError } from '../cluster-errors.ts';

/** Statuses that mean "not now" (the peer is restarting, unreachable for a moment, or slow): worth retrying. */
export function isRetryable(status: number): boolean {
  return status === GrpcStatus.UNAVAILABLE || status === GrpcStatus.DEADLINE_EXCEEDED;
}

/** The status of a gRPC error (UNKNOWN for anything that is not one). */
export function statusOf(error: unknown): { code: number; details: string } {
  const candidate = error as { code?: unknown; details?: unknown; message?: unknown };
  const code = typeof candidate?.code === 'number' ? candidate.code : GrpcStatus.UNKNOWN;
  const details = typeof candidate?.details === 'string' ? candidate.details : typeof candidate?.message === 'string' ? candidate.message : String(error);
  return { code, details };
}

export interface RetryTiming {
  /** Give up once the next attempt would start after this long (ms from the first attempt). */
  timeoutMs: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Run `attempt` until it succeeds, retrying UNAVAILABLE and DEADLINE_EXCEEDED with exponential backoff and jitter
 * (p-retry, with a status-aware `shouldRetry`); any other status fails at once. The last attempt starts no later than
 * `timeoutMs` after the first (p-retry shortens the final wait to the time left). Either way the error that escapes
 * is a `GrpcCallError` naming the component, its address, the status and the peer's details.
 *
 * @example
 * const channel = await withRetries(() => openChannel(), { component: 'head', address }, { timeoutMs: 10_000 });
 */
export async function withRetries<T>(attempt: () => Promise<T>, target: { component: string; address: string }, timing: RetryTiming): Promise<T> {
  let attempts = 0;
  try {
    return await pRetry(
      async () => {
        attempts++;
        try {
          return await attempt();
        } catch (error) {
          throw asError(error);
        }
      },
      {
        retries: Number.POSITIVE_INFINITY,
        factor: 2,
        minTimeout: timing.initialDelayMs ?? 100,
        maxTimeout: timing.maxDelayMs ?? 2_000,
        randomize: true,
        maxRetryTime: timing.timeoutMs,
        shouldRetry: ({ error }) => !(error instanceof GrpcCallError) && isRetryable(statusOf(error).code),
      },
    );
  } catch (error) {
    if (error instanceof GrpcCallError) throw error;
    const { code, details } = statusOf(error);
    throw new GrpcCallError(target.component, target.address, code, details, attempts);
  }
}

/**
 * p-retry only retries `Error`s; a stream's 'error' may be a plain `{ code, details }`. Keep its status readable.
 *
 * @example
 * statusOf(asError({ code: 14, details: 'connection refused' })).code; // 14
 */
export function asError(error: unknown): Error {
  if (error instanceof Error) return error;
  const { code, details } = statusOf(error);
  return Object.assign(new Error(details), { code, details });
}
