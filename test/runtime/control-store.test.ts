import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryControlStore } from '../../runtime/control/control-store.ts';
import { SqliteControlStore } from '../../runtime/cluster/sqlite-control-store.ts';
import { controlStoreConformance, sampleActor } from './control-store-conformance.ts';

const directory = mkdtempSync(join(tmpdir(), 'posttrain-store-'));
let counter = 0;
afterAll(() => rmSync(directory, { recursive: true, force: true }));

controlStoreConformance('in memory', () => new MemoryControlStore());
controlStoreConformance(
  'SQLite',
  () => new SqliteControlStore(join(directory, `store-${counter++}.sqlite`)),
  async (store) => new SqliteControlStore((store as SqliteControlStore).path),
);

describe('SQLite control store', () => {
  it('finds everything again after a reopen (a restarted head), in WAL mode', () => {
    const path = join(directory, 'head', 'state.sqlite');
    const first = new SqliteControlStore(path);
    first.putActor(sampleActor('a7'));
    first.bindName('actor', 'ppo', 'policy-0', 'a7');
    first.putKey('collectives', 'group', 'id');
    expect(first.nextSequence('actor')).toBe(1);
    first.close();
    const second = new SqliteControlStore(path);
    expect(second.getActor('a7')).toEqual(sampleActor('a7'));
    expect(second.lookupName('actor', 'ppo', 'policy-0')).toBe('a7');
    expect(second.getKey('collectives', 'group')).toBe('id');
    expect(second.nextSequence('actor')).toBe(2);
    second.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('refuses a state file from a newer schema, and one that is not a database, naming the file', () => {
    const newer = join(directory, 'newer.sqlite');
    const raw = new Database(newer);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => new SqliteControlStore(newer)).toThrow(/written by a newer posttrain \(schema 99/);
    const garbage = join(directory, 'garbage.sqlite');
    writeFileSync(garbage, 'this is not a database, just text long enough to have a header page in it'.repeat(20));
    expect(() => new SqliteControlStore(garbage)).toThrow(/garbage\.sqlite/);
  });
});
