import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FileCheckpointStore } from '../../../runtime/checkpoint/file-store.ts';
import { openCheckpointStore } from '../../../runtime/checkpoint/open-store.ts';
import { describeStoreConformance } from './store-conformance.ts';

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'posttrain-file-store-'));
  roots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

describeStoreConformance('file://', {
  open: async () => openCheckpointStore(`file://${await freshRoot()}`),
  partSizeBytes: 5 * 1024 * 1024,
});

describe('FileCheckpointStore', () => {
  it('warns once per process that local disk dies with the node', async () => {
    vi.resetModules();
    const { FileCheckpointStore: Fresh } = (await import('../../../runtime/checkpoint/file-store.ts')) as {
      FileCheckpointStore: typeof FileCheckpointStore;
    };
    const warn = vi.fn();
    const logger = { warn } as never;
    new Fresh(await freshRoot(), { logger });
    new Fresh(await freshRoot(), { logger });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![1]).toMatch(/local disk, which dies with this node; use an s3:\/\//);
  });

  it('leaves no temporary file behind and ignores stray ones in listings', async () => {
    const root = await freshRoot();
    const store = new FileCheckpointStore(root);
    await store.put('run/step-000001/state.json', new TextEncoder().encode('{}'));
    await writeFile(join(root, 'run', 'step-000001', '.state.json.tmp-1-abc'), 'partial');
    expect((await readdir(join(root, 'run', 'step-000001'))).filter((name) => !name.startsWith('.'))).toEqual(['state.json']);
    expect(await store.list('run/')).toEqual([{ key: 'run/step-000001/state.json', size: 2 }]);
  });

  it('deleting the last object of a directory removes the empty directories up to the root', async () => {
    const root = await freshRoot();
    const store = new FileCheckpointStore(root);
    await store.put('run/step-000001/policy/rank-0/weights.bin', new Uint8Array(4));
    await store.delete('run/step-000001/policy/rank-0/weights.bin');
    expect(await readdir(root)).toEqual([]);
  });

  it('rejects URIs it cannot open with a message saying what is allowed', () => {
    expect(() => openCheckpointStore('gs://bucket/x')).toThrow(/use s3:\/\/bucket\/prefix or file:\/\/\/absolute\/directory/);
    expect(() => openCheckpointStore('file://')).toThrow(/names no directory/);
    expect(() => openCheckpointStore('s3://UPPER/x')).toThrow(/not an S3 URI/);
  });
});
