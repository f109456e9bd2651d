/**
 * `promise`, or a rejection with `no answer within N ms` once `timeoutMs` has passed (the work itself goes on; the
 * timer is cleared either way).
 *
 * @example
 * const answer = await withTimeout(rpc.request('@probe', '[]'), 5_000);
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
