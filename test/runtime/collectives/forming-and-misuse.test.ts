import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  availableBackends,
  CollectiveError,
  CollectiveTimeoutError,
  createCommunicator,
  createUniqueId,
  parseUniqueId,
  type Communicator,
} from '../../../runtime/collectives/index.ts';
import { loadNcclAddon } from '../../../runtime/collectives/nccl/nccl-availability.ts';
import { ConfigError } from '../../../runtime/errors.ts';

/** Reject reason of a promise expected to fail. */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; ranks?: number[]; issues?: { path: string; message: string }[] }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

async function tcpGroup(worldSize: number): Promise<Communicator[]> {
  const uniqueId = await createUniqueId({ backend: 'tcp', host: '127.0.0.1' });
  return Promise.all(Array.from({ length: worldSize }, (_, rank) => createCommunicator(uniqueId, { rank, worldSize, timeoutMs: 60_000 })));
}

describe('bad input gets a clear error naming the field', () => {
  it('communicator options: a rank outside the group, an unknown key, a bad timeout', async () => {
    const uniqueId = await createUniqueId({ backend: 'tcp', host: '127.0.0.1', timeoutMs: 1_000 });
    const outside = await failure(createCommunicator(uniqueId, { rank: 2, worldSize: 2 }));
    expect(outside).toBeInstanceOf(ConfigError);
    expect(outside.issues).toEqual([{ path: 'createCommunicator.rank', message: 'rank (2) must be below worldSize (2)' }]);
    const unknown = await failure(createCommunicator(uniqueId, { rank: 0, worldSize: 2, ranks: 3, timeoutMs: -5 } as never));
    expect(unknown.issues?.map((issue) => issue.path).sort()).toEqual(['createCommunicator', 'createCommunicator.timeoutMs']);
    expect(unknown.message).toContain('unknown key "ranks"; allowed keys: rank, worldSize, timeoutMs, host');
  });

  it('unique ids: not JSON, a tampered field, an unknown backend', async () => {
    expect(() => parseUniqueId('not an id')).toThrow(/uniqueId: must be the string returned by createUniqueId/);
    const id = JSON.parse(await createUniqueId({ backend: 'tcp', host: '127.0.0.1', timeoutMs: 1_000 })) as Record<string, unknown>;
    expect(() => parseUniqueId(JSON.stringify({ ...id, secret: 'short' }))).toThrow(/uniqueId\.secret: must be 64 hex digits/);
    const gloo = await failure(createUniqueId({ backend: 'gloo' as never }));
    expect(gloo).toBeInstanceOf(ConfigError);
    expect(gloo.issues?.[0]?.path).toBe('createUniqueId.backend');
  });

  it('call arguments: op, buffer type, root and timeout are checked before anything is sent, and the group still works', async () => {
    const group = await tcpGroup(2);
    const [first] = group as [Communicator, Communicator];
    expect((await failure(first.allreduce(new Float32Array(2), { op: 'avg' as never }))).message).toBe('allreduce.op: must be one of sum, mean, max, min, got "avg"');
    expect((await failure(first.allreduce([1, 2] as never))).message).toBe('allreduce.buffer: must be a Float32Array, got Array');
    expect((await failure(first.broadcast(new Float32Array(2), 5))).message).toBe('broadcast.root: must be an integer rank from 0 to 1, got 5');
    expect((await failure(first.barrier({ timeoutMs: 0 }))).message).toMatch(/^barrier\.timeoutMs: /);
    const results = await Promise.all(group.map((communicator) => communicator.allreduce(Float32Array.of(communicator.rank + 1))));
    expect(results.map((result) => result[0])).toEqual([3, 3]);
    await Promise.all(group.map((communicator) => communicator.destroy()));
    await expect(first.barrier()).rejects.toMatchObject({ code: 'COLLECTIVE_DESTROYED' });
  });
});

describe.skipIf('addon' in loadNcclAddon())('nccl where NCCL and CUDA are absent', () => {
  it('fails at once, saying what is missing and which backends are available', async () => {
    const error = await failure(createUniqueId({ backend: 'nccl' }));
    expect(error).toBeInstanceOf(CollectiveError);
    expect(error.code).toBe('COLLECTIVE_BACKEND_UNAVAILABLE');
    expect(error.message).toMatch(/needs NVIDIA NCCL and CUDA, which were not found here: the native addon is not built/);
    expect(error.message).toContain('Available backends: "shm" (ranks on one node) and "tcp" (ranks on any hosts)');
    const ncclId = JSON.stringify({ version: 1, backend: 'nccl', ncclUniqueId: Buffer.alloc(128).toString('base64') });
    await expect(createCommunicator(ncclId, { rank: 0, worldSize: 2 })).rejects.toMatchObject({ code: 'COLLECTIVE_BACKEND_UNAVAILABLE' });
    expect(availableBackends()).toEqual(['shm', 'tcp']);
  });
});

describe('forming a group', () => {
  it('times out naming the ranks that did not join', async () => {
    const uniqueId = await createUniqueId({ backend: 'tcp', host: '127.0.0.1' });
    // Long enough for ranks 0 and 1 to meet each other on a loaded 2-core machine (500 ms once named rank 1 too).
    const outcomes = await Promise.all([0, 1].map((rank) => failure(createCommunicator(uniqueId, { rank, worldSize: 3, timeoutMs: 3_000 }))));
    for (const error of outcomes) {
      expect(error).toBeInstanceOf(CollectiveTimeoutError);
      expect(error.ranks).toEqual([2]);
      expect(error.message).toMatch(/rank 2 did not join/);
    }
  });

  it('refuses a rank number used twice and a disagreeing world size, naming them', async () => {
    const uniqueId = await createUniqueId({ backend: 'tcp', host: '127.0.0.1' });
    const first = createCommunicator(uniqueId, { rank: 0, worldSize: 2, timeoutMs: 2_000 });
    first.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    const duplicate = await failure(createCommunicator(uniqueId, { rank: 0, worldSize: 2, timeoutMs: 2_000 }));
    expect(duplicate).toMatchObject({ code: 'COLLECTIVE_RENDEZVOUS_FAILED' });
    expect(duplicate.message).toMatch(/rank 0 has already joined \(host .*, pid \d+\)/);
    const wrongSize = await failure(createCommunicator(uniqueId, { rank: 1, worldSize: 3, timeoutMs: 2_000 }));
    expect(wrongSize.message).toMatch(/rank 1 joined with worldSize 3, but the ranks before it said 2/);
    await failure(first);
  });

  it('says so when the process that created the id is gone', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const id = JSON.parse(await createUniqueId({ backend: 'tcp', host: '127.0.0.1', timeoutMs: 1_000 })) as Record<string, unknown>;
    const orphan = JSON.stringify({ ...id, root: { host: '127.0.0.1', port } });
    const error = await failure(createCommunicator(orphan, { rank: 0, worldSize: 2, timeoutMs: 300 }));
    expect(error).toMatchObject({ code: 'COLLECTIVE_RENDEZVOUS_FAILED' });
    expect(error.message).toMatch(/could not reach the rendezvous root at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. The process that created the unique id must stay alive/);
  });
});

describe('security: the secret in the unique id gates every connection', () => {
  it('a rank with the wrong secret and a client sending garbage are refused, and the real group still forms', async () => {
    const uniqueId = await createUniqueId({ backend: 'tcp', host: '127.0.0.1' });
    const id = JSON.parse(uniqueId) as { root: { host: string; port: number }; secret: string };
    const forged = JSON.stringify({ ...id, secret: 'f'.repeat(64) });
    const intruder = await failure(createCommunicator(forged, { rank: 1, worldSize: 2, timeoutMs: 2_000 }));
    expect(intruder).toMatchObject({ code: 'COLLECTIVE_RENDEZVOUS_FAILED' });
    const garbage = net.connect(id.root.port, id.root.host);
    await new Promise((resolve) => garbage.once('connect', resolve));
    garbage.write('GET / HTTP/1.1\r\nHost: posttrain\r\n\r\n');
    await new Promise((resolve) => garbage.once('close', resolve));
    const group = await Promise.all([0, 1].map((rank) => createCommunicator(uniqueId, { rank, worldSize: 2, timeoutMs: 10_000 })));
    const results = await Promise.all(group.map((communicator) => communicator.allreduce(Float32Array.of(2), { op: 'mean' })));
    expect(results.map((result) => result[0])).toEqual([2, 2]);
    await Promise.all(group.map((communicator) => communicator.destroy()));
  });
});

describe('shm leaves nothing behind', () => {
  it('unlinks its sockets and buffer files once the group has formed, and works on after', async () => {
    const shmDir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'pt-test-'));
    try {
      const uniqueId = await createUniqueId({ backend: 'shm', shmDir });
      const group = await Promise.all([0, 1, 2].map((rank) => createCommunicator(uniqueId, { rank, worldSize: 3 })));
      for (let attempt = 0; attempt < 50 && fs.readdirSync(shmDir).length > 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(fs.readdirSync(shmDir)).toEqual([]);
      const results = await Promise.all(group.map((communicator) => communicator.allgather(Float32Array.of(communicator.rank))));
      expect([...(results[2] as Float32Array)]).toEqual([0, 1, 2]);
      await Promise.all(group.map((communicator) => communicator.destroy()));
      expect(fs.readdirSync(shmDir)).toEqual([]);
    } finally {
      fs.rmSync(shmDir, { recursive: true, force: true });
    }
  });

  it('refuses a rank on another host, pointing to tcp', async () => {
    const uniqueId = await createUniqueId({ backend: 'shm', timeoutMs: 10_000 });
    const elsewhere = JSON.stringify({ ...(JSON.parse(uniqueId) as Record<string, unknown>), hostname: 'some-other-node' });
    const error = await failure(createCommunicator(elsewhere, { rank: 0, worldSize: 2 }));
    expect(error.message).toMatch(/shm group on host some-other-node, .* create the id with backend "tcp"/);
    // The ranks on the right host still form the group (which also closes the root and its socket file).
    const group = await Promise.all([0, 1].map((rank) => createCommunicator(uniqueId, { rank, worldSize: 2 })));
    await Promise.all(group.map((communicator) => communicator.destroy()));
  });
});
