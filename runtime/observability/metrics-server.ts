import http from 'node:http';
import net from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { PosttrainError } from '../errors.ts';

/** Options for `startMetricsServer`. */
export interface MetricsServerOptions {
  /** The prom-client registry to expose. */
  registry: Registry;
  /** Address to bind (default `127.0.0.1`). A non-loopback address needs `token`. */
  host?: string;
  /** Port (default 0: any free port; read it back from `port`). */
  port?: number;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `http://host:port/metrics`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serve the registry's metrics in Prometheus text format on `GET /metrics`. It refuses to bind a non-loopback
 * address without a token, because metrics name runs, hosts and actors (the ShadowRay lesson: nothing listens
 * unauthenticated beyond this machine).
 *
 * @example
 * const server = await startMetricsServer({ registry, port: 9464 });
 * // curl http://127.0.0.1:9464/metrics
 * await server.close();
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token;
  if (token !== undefined && token.length === 0) {
    throw new PosttrainError('METRICS_TOKEN_EMPTY', 'metrics token is empty: give a secret or leave it unset', {
      path: 'token',
    });
  }
  if (!isLoopback(host) && token === undefined) {
    throw new PosttrainError(
      'METRICS_UNAUTHENTICATED',
      `refusing to serve metrics on non-loopback address ${host} without a token: set a token or bind 127.0.0.1`,
      { path: 'host' },
    );
  }
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`);

  const server = http.createServer((request, response) => {
    if (expected !== undefined && !authorized(request.headers.authorization, expected)) {
      response.writeHead(401, { 'WWW-Authenticate': 'Bearer', 'Content-Type': 'text/plain' }).end('unauthorized\n');
      return;
    }
    const url = new URL(request.url ?? '/', 'http://metrics');
    if (url.pathname !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: metrics are on GET /metrics\n');
      return;
    }
    options.registry.metrics().then(
      (text) => response.writeHead(200, { 'Content-Type': options.registry.contentType }).end(text),
      (error: unknown) =>
        response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`collecting metrics failed: ${String(error)}\n`),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PosttrainError('METRICS_BIND_FAILED', `cannot serve metrics on ${host}:${options.port ?? 0}: ${error.code ?? error.message}`, {
          path: 'port',
          cause: error,
        }),
      ),
    );
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = net.isIPv6(host) ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Loopback: `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped 127.x.
 *
 * @example
 * isLoopback('127.0.0.1'); // true
 * isLoopback('0.0.0.0');   // false: every interface
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  const ipv4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return net.isIPv4(ipv4) && ipv4.startsWith('127.');
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false;
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
