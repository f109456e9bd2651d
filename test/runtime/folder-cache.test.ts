/** FolderCache: one load per folder while the named files keep their size and time; missing files count. */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderCache } from '../../runtime/folder-cache.ts';

const scratch = mkdtempSync(join(tmpdir(), 'folder-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('FolderCache', () => {
  it('loads again only when a named file appears, changes size or time', () => {
    const cache = new FolderCache<number>({ files: () => ['a.txt', 'b.txt'] });
    let loads = 0;
    const load = () => ++loads;
    writeFileSync(join(scratch, 'a.txt'), 'one');
    expect([cache.get(scratch, load), cache.get(scratch, load)]).toEqual([1, 1]);
    writeFileSync(join(scratch, 'b.txt'), 'new file');
    expect(cache.get(scratch, load)).toBe(2);
    writeFileSync(join(scratch, 'a.txt'), 'longer');
    expect(cache.get(scratch, load)).toBe(3);
    utimesSync(join(scratch, 'a.txt'), new Date(0), new Date(1_000_000));
    expect(cache.get(scratch, load)).toBe(4);
    writeFileSync(join(scratch, 'unnamed.txt'), 'ignored');
    expect(cache.get(scratch, load)).toBe(4);
    cache.clear();
    expect(cache.has(scratch)).toBe(false);
  });

  it('keeps nothing when the load throws', () => {
    const cache = new FolderCache<number>({ files: () => ['a.txt'] });
    expect(() => cache.get(scratch, () => { throw new Error('unreadable'); })).toThrow('unreadable');
    expect(cache.has(scratch)).toBe(false);
  });
});
