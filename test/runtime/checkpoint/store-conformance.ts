/**
 * The contract of `CheckpointStore` (runtime/checkpoint/store.ts), run by every implementation: each test gets a
 * fresh, empty store from `open`.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../runtime/checkpoint/errors.ts';
import type { CheckpointStore } from '../../../runtime/checkpoint/store.ts';
import { rejectionOf } from '../../expect-error.ts';

export interface ConformanceOptions {
  /** A fresh, empty store. */
  open: () => Promise<CheckpointStore>;
  /** The multipart part size the opened store uses (the large-object test writes more than two parts). */
  partSizeBytes: number;
}

const bytesOf = (text: string) => new TextEncoder().encode(text);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function describeStoreConformance(name: string, options: ConformanceOptions): void {
  describe(`CheckpointStore conformance: ${name}`, () => {
    const opened: CheckpointStore[] = [];
    const open = async () => {
      const store = await options.open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    it('put then get returns the same bytes (every byte value, and an empty object); head gives sizes', async () => {
      const store = await open();
      const every = Uint8Array.from({ length: 512 }, (_, index) => index % 256);
      await store.put('run/a/every.bin', every);
      await store.put('run/a/empty.bin', new Uint8Array(0));
      expect(Buffer.from(await store.get('run/a/every.bin')).equals(Buffer.from(every))).toBe(true);
      expect((await store.get('run/a/empty.bin')).byteLength).toBe(0);
      expect(await store.head('run/a/every.bin')).toEqual({ size: 512 });
      expect(await store.head('run/a/empty.bin')).toEqual({ size: 0 });
    });

    it('a missing object: get rejects with CHECKPOINT_OBJECT_NOT_FOUND naming it, head gives undefined', async () => {
      const store = await open();
      const error = await rejectionOf(store.get('run/missing.bin'), CheckpointError);
      expect(error.code).toBe('CHECKPOINT_OBJECT_NOT_FOUND');
      expect(error.message).toContain('run/missing.bin');
      expect(await store.head('run/missing.bin')).toBeUndefined();
    });

    it('put replaces an existing object entirely', async () => {
      const store = await open();
      await store.put('run/latest', bytesOf('step-000200\n'));
      await store.put('run/latest', bytesOf('step-3\n'));
      expect(new TextDecoder().decode(await store.get('run/latest'))).toBe('step-3\n');
      expect(await store.head('run/latest')).toEqual({ size: 7 });
    });

    it('list returns every object under a string prefix at any depth, sorted, with sizes', async () => {
      const store = await open();
      await store.put('run/step-000200/manifest.json', bytesOf('22'));
      await store.put('run/step-000100/policy/rank-0/weights.bin', bytesOf('1'));
      await store.put('run/step-000100/manifest.json', bytesOf('333'));
      await store.put('run-2/step-000100/manifest.json', bytesOf('4444'));
      await store.put('other/x', bytesOf('5'));
      expect(await store.list('run/')).toEqual([
        { key: 'run/step-000100/manifest.json', size: 3 },
        { key: 'run/step-000100/policy/rank-0/weights.bin', size: 1 },
        { key: 'run/step-000200/manifest.json', size: 2 },
      ]);
      expect((await store.list('run/step-0001')).map((object) => object.key)).toEqual([
        'run/step-000100/manifest.json',
        'run/step-000100/policy/rank-0/weights.bin',
      ]);
      expect((await store.list('run')).length).toBe(4);
      expect((await store.list('')).length).toBe(5);
      expect(await store.list('nothing/')).toEqual([]);
    });

    it('delete removes an object, and deleting a missing one succeeds', async () => {
      const store = await open();
      await store.put('run/step-000100/a.bin', bytesOf('a'));
      await store.put('run/step-000100/b.bin', bytesOf('b'));
      await store.delete('run/step-000100/a.bin');
      await store.delete('run/step-000100/a.bin');
      await store.delete('never/was.bin');
      expect(await store.list('run/')).toEqual([{ key: 'run/step-000100/b.bin', size: 1 }]);
      expect(await store.head('run/step-000100/a.bin')).toBeUndefined();
    });

    it('refuses keys that could escape the root or collide with temporary files', async () => {
      const store = await open();
      for (const key of ['', '../escape', '/absolute', 'a//b', 'run/.hidden', 'a/b/', 'sp ace']) {
        const error = await rejectionOf(store.put(key, bytesOf('x')), CheckpointError);
        expect(error.code, key).toBe('CHECKPOINT_KEY_INVALID');
      }
    });

    it('an object larger than the part size (multipart) round-trips byte for byte', async () => {
      const store = await open();
      const size = 2 * options.partSizeBytes + 1234567;
      const large = new Uint8Array(size);
      for (let index = 0; index < size; index++) large[index] = Math.imul(index, 2654435761) >>> 24;
      await store.put('run/step-000100/policy/rank-0/optimizer.bin', large);
      expect(await store.head('run/step-000100/policy/rank-0/optimizer.bin')).toEqual({ size });
      expect(sha256(await store.get('run/step-000100/policy/rank-0/optimizer.bin'))).toBe(sha256(large));
    });
  });
}
