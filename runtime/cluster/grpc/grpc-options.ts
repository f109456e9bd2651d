import type { Logger } from 'pino';
import type { ClusterSecurity } from './cluster-security.ts';

/** Tuning of the gRPC transport. Defaults suit a data-centre network; tests shorten the timers. */
export interface GrpcTransportOptions {
  security: ClusterSecurity;
  logger?: Logger;
  /** Largest gRPC message sent or accepted (default 4 MiB, gRPC's own default); larger frames span messages. */
  messageBytes?: number;
  /** Largest frame accepted (default 1 GiB). */
  maxFrameBytes?: number;
  /** HTTP/2 ping interval, both directions: a peer silent for `keepaliveMs + keepaliveTimeoutMs` is dropped (default 10 s). */
  keepaliveMs?: number;
  /** How long a ping may go unanswered (default 5 s). */
  keepaliveTimeoutMs?: number;
  /** How long `connect` keeps retrying UNAVAILABLE / DEADLINE_EXCEEDED before giving up (default 10 s). */
  connectTimeoutMs?: number;
  /** Longest wait for one connection attempt before it counts as DEADLINE_EXCEEDED (default 3 s). */
  attemptTimeoutMs?: number;
}

export interface ResolvedGrpcOptions extends Required<Omit<GrpcTransportOptions, 'logger'>> {
  logger: Logger | undefined;
}

export function resolveGrpcOptions(options: GrpcTransportOptions): ResolvedGrpcOptions {
  return {
    security: options.security,
    logger: options.logger,
    messageBytes: options.messageBytes ?? 4 * 2 ** 20,
    maxFrameBytes: options.maxFrameBytes ?? 2 ** 30,
    keepaliveMs: options.keepaliveMs ?? 10_000,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 5_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 3_000,
  };
}

/** Channel arguments shared by clients and servers: message limits and keepalive in both directions. */
export function channelArguments(options: ResolvedGrpcOptions): Record<string, number> {
  return {
    // A little slack over the message size for gRPC's own framing; anything larger is RESOURCE_EXHAUSTED.
    'grpc.max_receive_message_length': options.messageBytes + 1024,
    'grpc.max_send_message_length': options.messageBytes + 1024,
    'grpc.keepalive_time_ms': options.keepaliveMs,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    // HTTP/2's default 64 KiB receive window caps a stream at window / round trip; object transfers need more.
    'grpc-node.flow_control_window': 16 * 2 ** 20,
    // gRPC's reconnect backoff defaults to 1 s growing to 120 s; a restarted head must be found within seconds.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
  };
}
