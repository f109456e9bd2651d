import { status as GrpcStatus } from '@grpc/grpc-js';
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
 * Run `attempt` until it succeeds, retrying UNAVAILABLE and DEADLINE_EXCEEDED with exponential backoff and jitter;
 * any other status fails at once. Either way the error that escapes is a `GrpcCallError` naming the component, its
 * address, the status and the peer's details.
 *
 * @example
 * const channel = await withRetries(() => openChannel(), { component: 'head', address }, { timeoutMs: 10_000 });
 */
export async function withRetries<T>(attempt: () => Promise<T>, target: { component: string; address: string }, timing: RetryTiming): Promise<T> {
  const started = Date.now();
  let delay = timing.initialDelayMs ?? 100;
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof GrpcCallError) throw error;
      const { code, details } = statusOf(error);
      const elapsed = Date.now() - started;
      if (!isRetryable(code) || elapsed + delay > timing.timeoutMs) throw new GrpcCallError(target.component, target.address, code, details, attempts);
      await new Promise((resolve) => setTimeout(resolve, delay * (0.75 + Math.random() * 0.5)));
      delay = Math.min(delay * 2, timing.maxDelayMs ?? 2_000);
    }
  }
}
