import net from 'node:net';
import { z } from 'zod';

/** Where a process listens: a TCP host and port, or a Unix domain socket path (one node only). */
export type Endpoint = { host: string; port: number } | { path: string };

export const endpointSchema = z.union([
  z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) }).strict(),
  z.object({ path: z.string().min(1) }).strict(),
]);

/** `198.18.0.1:40123`, `[fd00::1]:40123` or `unix:/dev/shm/x.sock`, for messages. */
export function describeEndpoint(endpoint: Endpoint): string {
  if ('path' in endpoint) return `unix:${endpoint.path}`;
  return net.isIPv6(endpoint.host) ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

/** Start listening on `endpoint` (port 0 picks a free port) and return the endpoint actually bound. */
export function listen(server: net.Server, endpoint: Endpoint | { host: string; port: 0 }): Promise<Endpoint> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address();
      if (address !== null && typeof address === 'object') resolve({ host: address.address, port: address.port });
      else resolve(endpoint);
    };
    if ('path' in endpoint) server.listen(endpoint.path, onListening);
    else server.listen(endpoint.port, endpoint.host, onListening);
  });
}

/** Open a connection to `endpoint`; resolves once connected. */
export function connect(endpoint: Endpoint): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in endpoint ? net.connect(endpoint.path) : net.connect(endpoint.port, endpoint.host);
    const onError = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Errors worth retrying while a listener may still be starting or a link may come back. */
export function isRetryableConnectError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT' || code === 'ECONNRESET';
}
