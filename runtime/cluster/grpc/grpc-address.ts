import { ConfigError } from '../../errors.ts';

/** `grpc:host:port` (IPv6 hosts in brackets); `host:port` is accepted as input too. */
export interface GrpcAddress {
  host: string;
  port: number;
}

/**
 * @example
 * parseGrpcAddress('grpc:10.0.0.5:6380'); // { host: '10.0.0.5', port: 6380 }
 * parseGrpcAddress('head.posttrain.svc:6380');
 */
export function parseGrpcAddress(address: string, path = 'address'): GrpcAddress {
  const bare = address.startsWith('grpc:') ? address.slice('grpc:'.length) : address;
  const match = /^(\[[0-9a-fA-F:]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(bare);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65_535) {
    throw new ConfigError([{ path, message: `'${address}' is not host:port (e.g. 10.0.0.5:6380 or head.example.com:6380)` }]);
  }
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

export function formatGrpcAddress(host: string, port: number): string {
  return `grpc:${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The target string gRPC dials: `host:port`. */
export function grpcTarget(address: GrpcAddress): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
