import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ObjectHome } from '../../runtime/cluster/object-home.ts';
import { GrpcTransport } from '../../runtime/cluster/grpc/grpc-transport.ts';
import { ObjectDirectory } from '../../runtime/object-store/object-directory.ts';
import { eventually } from '../runtime/helpers.ts';

const security = { token: 'object-home-test-token-0123456789', tls: undefined };

/** Descriptors of this process open on `file`. */
function openDescriptors(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

/** An object home on loopback serving one object of `bytes` bytes from its own directories. */
async function homeWithObject(bytes: number) {
  const root = mkdtempSync(path.join(tmpdir(), 'posttrain-object-home-'));
  const directory = new ObjectDirectory({ shm: root, spill: root }, 2 ** 30, 'n1.1-');
  const transport = new GrpcTransport({ security, messageBytes: 2 ** 20 });
  const home = await ObjectHome.start({ host: '127.0.0.1', port: 0 }, { directory, transport, logger: pino({ level: 'silent' }), label: 'node test' });
  const { id, location } = directory.reserve('w1', 'rollout-0', bytes);
  const file = directory.pathOf(id, location);
  writeFileSync(file, Buffer.alloc(bytes, 7));
  return { home, transport, id, file, close: async () => (await home.close(), await transport.close(), rmSync(root, { recursive: true, force: true })) };
}

describe('object home (gRPC on loopback)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('a fetch cancelled by the reader mid-transfer closes the served file (no descriptor left behind)', async () => {
    const served = await homeWithObject(64 * 2 ** 20);
    const reader = new GrpcTransport({ security, messageBytes: 2 ** 20 });
    cleanups.push(served.close, () => reader.close());
    const stream = reader.fetch(served.home.address, Buffer.from(JSON.stringify({ id: served.id, home: 'grpc:127.0.0.1:1' })));
    stream.on('error', () => {});
    // The header and one chunk arrive; then the reader gives up while the home is blocked on backpressure.
    let messages = 0;
    await new Promise<void>((resolve) => stream.on('data', () => ++messages === 2 && resolve()));
    stream.pause();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(openDescriptors(served.file)).toBe(1);
    stream.cancel();
    expect(await eventually(() => openDescriptors(served.file), (open) => open === 0, 5_000)).toBe(0);
  });
});
