import { TransportError } from '../runtime-errors.ts';
import { MemoryTransport } from './memory-transport.ts';
import { SocketTransport } from './socket-transport.ts';
import type { Transport } from './transport.ts';

/**
 * The transport for an address, by its scheme: `unix:/path` and `tcp:host:port` (the local channel), `memory:name`
 * (in-process). The gRPC transport of cluster mode registers `grpc:` here.
 *
 * @example
 * const channel = await transportFor('unix:/tmp/head.sock').connect('unix:/tmp/head.sock');
 */
export function transportFor(address: string): Transport {
  const scheme = address.slice(0, address.indexOf(':'));
  const make = registry.get(scheme);
  if (!make) throw new TransportError('CONNECT_FAILED', `no transport for '${address}' (known schemes: ${[...registry.keys()].join(', ')})`, address);
  return make();
}

const unix = new SocketTransport('unix');
const tcp = new SocketTransport('tcp');
const memory = new MemoryTransport();

const registry = new Map<string, () => Transport>([
  ['unix', () => unix],
  ['tcp', () => tcp],
  ['memory', () => memory],
]);

/** Add a transport for a scheme (cluster mode adds `grpc`). */
export function registerTransport(scheme: string, make: () => Transport): void {
  registry.set(scheme, make);
}
