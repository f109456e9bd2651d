import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectStoreError, Runtime, type ActorHandle } from '../../runtime/index.ts';
import type { Counter } from './fixtures/test-actors.ts';
import { eventually, fixtures } from './helpers.ts';

let runtime: Runtime;
let actor: ActorHandle<Counter>;
const spillDirectory = mkdtempSync(join(tmpdir(), 'posttrain-spill-test-'));

beforeAll(async () => {
  // A 1 MiB shared-memory budget so that spilling is easy to trigger.
  runtime = await Runtime.start({ nodes: [{ resources: { CPU: 2 } }], objectStore: { memoryBytes: 1024 * 1024, spillDirectory } });
  actor = await runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', resources: { CPU: 0.5 } });
});
afterAll(async () => {
  await runtime.shutdown();
  rmSync(spillDirectory, { recursive: true, force: true });
});

function sessionFiles(root: string): string[] {
  return readdirSync(root)
    .filter((entry) => entry.startsWith(`posttrain-session-${process.pid}-`))
    .flatMap((entry) => readdirSync(join(root, entry)).map((file) => join(root, entry, file)));
}

describe('object store', () => {
  it('stores typed arrays as raw bytes behind a small header, in /dev/shm', async () => {
    const values = new Float32Array(1000).map((_, index) => index / 7);
    const ref = await runtime.put({ logProbs: values, step: 3 });
    const file = sessionFiles('/dev/shm').find((path) => path.endsWith(ref.id))!;
    expect(file).toBeDefined();
    const bytes = readFileSync(file);
    expect(bytes.toString('latin1', 0, 4)).toBe('PTO1');
    // The array's exact bytes are in the file, untouched (not JSON text).
    expect(bytes.indexOf(Buffer.from(values.buffer))).toBeGreaterThan(0);
    expect(bytes.length).toBeLessThan(values.byteLength + 256);
    const back = await ref.get();
    expect(back.logProbs).toBeInstanceOf(Float32Array);
    expect(back.logProbs).toEqual(values);
    expect(back.step).toBe(3);
    ref.release();
  });

  it('resolves refs passed as arguments in the callee, and refs returned by actors in the driver', async () => {
    const ref = await runtime.put(new Float32Array([1, 2, 3.5]));
    expect(await actor.call('sum', ref)).toBe(6.5);
    const owned = await actor.call('makeArray', 8, 0.5);
    expect(owned.owner).not.toBe('driver');
    expect(await owned.get()).toEqual(new Float32Array(8).fill(0.5));
    const reuse = new Float32Array(8);
    expect(await owned.get({ into: reuse })).toBe(reuse);
    expect(reuse[7]).toBe(0.5);
    ref.release();
    owned.release();
  });

  it('lets an actor read an object owned by another actor, without the driver', async () => {
    const peer = await runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', resources: { CPU: 0.5 } });
    expect(await actor.call('sumPeerArray', peer, 100)).toBe(200);
    await peer.kill();
  });

  it('frees an object and its memory when the last ref is released', async () => {
    const before = await runtime.objectStoreUsage();
    const ref = await runtime.put(new Float64Array(4096));
    expect(await actor.call('keep', ref)).toBeGreaterThan(0);
    ref.release();
    // The actor still holds it (retained), so it lives on.
    const held = await runtime.objectStoreUsage();
    expect(held.usedBytes).toBeGreaterThan(before.usedBytes + 32_000);
    expect(await actor.call('readKept', 0)).toHaveLength(4096);
    await actor.call('releaseKept');
    const after = await eventually(() => runtime.objectStoreUsage(), (usage) => usage.usedBytes <= held.usedBytes - ref.bytes);
    expect(after.usedBytes).toBeLessThanOrEqual(held.usedBytes - ref.bytes);
    expect(sessionFiles('/dev/shm').some((path) => path.endsWith(ref.id))).toBe(false);
  });

  it('releases refs borrowed by a call when it returns, and says so if the callee kept one without retain()', async () => {
    const ref = await runtime.put(new Int32Array([9]));
    await actor.call('keepWithoutRetain', ref);
    const error = (await actor.call('readKept', 0).catch((caught: unknown) => caught)) as Error;
    expect(error.message).toMatch(/borrowed by the call 'keepWithoutRetain' and released when the call returned/);
    expect(await ref.get()).toEqual(new Int32Array([9]));
    ref.release();
    await expect(ref.get()).rejects.toThrow(ObjectStoreError);
  });

  it('spills to the configured directory when the shared-memory budget is full, and reads spilled objects back', async () => {
    const big = await runtime.put(new Uint8Array(800 * 1024).fill(1));
    const spilled = await runtime.put(new Uint8Array(800 * 1024).fill(2));
    expect(big.location).toBe('shm');
    expect(spilled.location).toBe('spill');
    expect(sessionFiles(spillDirectory).some((path) => path.endsWith(spilled.id))).toBe(true);
    expect((await actor.call('echo', 1))).toBe(1);
    const usage = await runtime.objectStoreUsage();
    expect(usage.spilledBytes).toBeGreaterThanOrEqual(800 * 1024);
    const metrics = await runtime.metrics.getSingleMetricAsString('posttrain_object_store_bytes');
    expect(metrics).toMatch(/posttrain_object_store_bytes\{state="spilled"\} \d{6,}/);
    expect((await spilled.get())[0]).toBe(2);
    big.release();
    spilled.release();
    await eventually(() => runtime.objectStoreUsage(), (now) => now.spilledBytes === 0);
  });

  it('refuses refs inside stored values', async () => {
    const ref = await runtime.put(1);
    await expect(runtime.put({ nested: ref })).rejects.toThrow(/ObjectRef inside a put value is not supported/);
    ref.release();
  });
});

describe('shared-memory check at start-up', () => {
  it('fails with a message naming /dev/shm and how to raise it when the tmpfs is too small', async () => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'posttrain-small-shm-'));
    let mounted = false;
    try {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'ignore' });
        mounted = true;
      } catch {
        // Not root or no mount(8): the injected statfs below checks the same path.
      }
      const statfs = mounted ? undefined : () => ({ freeBytes: 1024 * 1024, totalBytes: 1024 * 1024 });
      const error = await Runtime.start({ objectStore: { directory: mountPoint, memoryBytes: 64 * 1024 * 1024, ...(statfs ? { statfs } : {}) } }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ObjectStoreError);
      const message = (error as Error).message;
      expect(message).toMatch(/has 1\.0 MiB free .* but the object store is set to keep 64\.0 MiB/);
      expect(message).toMatch(/Raise \/dev\/shm: `docker run --shm-size=80m`/);
      expect(message).toMatch(/emptyDir with medium: Memory/);
      expect((error as ObjectStoreError).code).toBe('SHM_TOO_SMALL');
      expect(readdirSync(mountPoint)).toEqual([]);
    } finally {
      if (mounted) execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
    expect(existsSync(mountPoint)).toBe(false);
  });

  it('uses the injected size probe (the Docker default of 64 MB)', async () => {
    const error = await Runtime.start({ objectStore: { statfs: () => ({ freeBytes: 64e6, totalBytes: 64e6 }) } }).catch((caught: unknown) => caught as Error);
    expect((error as Error).message).toMatch(/^\/dev\/shm has 61\.0 MiB free/);
  });
});
