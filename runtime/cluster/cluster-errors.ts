import { PosttrainError } from '../errors.ts';
import { registerErrorClass } from '../runtime-errors.ts';

/**
 * Errors of cluster mode. Each names the component that failed (the head, a node agent, an object's home) and the
 * real cause: a distributed failure reported as a bare "UNAVAILABLE" from an unrelated service costs hours (a
 * production lesson from Ray's GCS).
 */

/** A security setting is missing or wrong: no token on a non-loopback address, a short token, unreadable TLS files. */
export class ClusterSecurityError extends PosttrainError {
  constructor(code: 'TOKEN_REQUIRED' | 'TOKEN_INVALID' | 'TLS_CONFIG_INVALID', message: string, path?: string) {
    super(code, message, path === undefined ? {} : { path });
  }
}

/** gRPC's status codes by number (kept here so that the runtime's public errors do not load gRPC). */
const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];
const UNAUTHENTICATED = 16;
const UNAVAILABLE = 14;

/** Name of a gRPC status code (`UNAVAILABLE`), for messages and error codes. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `STATUS_${code}`;
}

/**
 * A gRPC call to a cluster component failed with a status that is not retried (or retries ran out). `code` is
 * `GRPC_<STATUS>` (e.g. `GRPC_UNAUTHENTICATED`); `status` the numeric code; the message names the component, its
 * address and the peer's own explanation.
 */
export class GrpcCallError extends PosttrainError {
  readonly status: number;
  readonly component: string;
  readonly address: string;

  constructor(component: string, address: string, status: number, details: string, attempts = 1) {
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(`GRPC_${statusName(status)}`, `${component} at ${address} failed${tries}: ${statusName(status)}: ${details}${hint(status)}`, { path: component });
    this.status = status;
    this.component = component;
    this.address = address;
  }
}

function hint(status: number): string {
  if (status === UNAUTHENTICATED) return ' (every process of a cluster needs the same token: POSTTRAIN_TOKEN or POSTTRAIN_TOKEN_FILE)';
  if (status === UNAVAILABLE) return ' (is it running, and reachable from here?)';
  return '';
}

registerErrorClass(ClusterSecurityError);
registerErrorClass(GrpcCallError);

/** The head could not be reached in time, or went away while a request that cannot be repeated was in flight. */
export class HeadUnavailableError extends PosttrainError {
  constructor(message: string) {
    super('HEAD_UNAVAILABLE', message, { path: 'head' });
  }
}
registerErrorClass(HeadUnavailableError);
