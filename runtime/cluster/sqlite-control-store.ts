import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../errors.ts';
import { packRecord as pack, unpackRecord as unpack } from './control-record-codec.ts';
import type { ActorRecord, ControlStore, JobRecord, NameKind, NodeRecord, PlacementGroupRecord } from '../control/control-store.ts';

const SCHEMA_VERSION = 1;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, json TEXT NOT NULL, blob BLOB);
  CREATE TABLE IF NOT EXISTS actors (id TEXT PRIMARY KEY, json TEXT NOT NULL, blob BLOB);
  CREATE TABLE IF NOT EXISTS placement_groups (id TEXT PRIMARY KEY, json TEXT NOT NULL, blob BLOB);
  CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, json TEXT NOT NULL, blob BLOB);
  CREATE TABLE IF NOT EXISTS names (kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (kind, namespace, name));
  CREATE TABLE IF NOT EXISTS keys (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (namespace, key));
  CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

type Table = 'nodes' | 'actors' | 'placement_groups' | 'jobs';

/**
 * The cluster head's control store in SQLite (better-sqlite3, WAL), so that a restarted head finds its nodes,
 * actors, placement groups, names, jobs and counters again while the actors keep running on their nodes. Records
 * are stored as the runtime's value encoding (a JSON skeleton plus raw bytes for typed arrays, such as an actor's
 * encoded constructor arguments), one row per record; every write is its own transaction, so what the head
 * acknowledged is on disk in the WAL. `synchronous = NORMAL`: a power cut may lose the last writes, a head crash
 * loses nothing.
 *
 * @example
 * const store = new SqliteControlStore('/var/lib/posttrain/head.sqlite');
 * const head = new Head({ store, ... });
 */
export class SqliteControlStore implements ControlStore {
  private readonly database: Database.Database;
  private readonly statements: Record<string, Database.Statement>;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let version: number;
    try {
      this.database = new Database(path);
      this.database.pragma('journal_mode = WAL');
      this.database.pragma('synchronous = NORMAL');
      version = this.database.pragma('user_version', { simple: true }) as number;
    } catch (error) {
      throw new ConfigError([{ path: 'state', message: `cannot open the head's state database ${path}: ${(error as Error).message}` }]);
    }
    if (version > SCHEMA_VERSION) {
      this.database.close();
      throw new ConfigError([{ path: 'state', message: `${path} was written by a newer posttrain (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade posttrain or start from a new state file` }]);
    }
    this.database.exec(SCHEMA);
    this.database.pragma(`user_version = ${SCHEMA_VERSION}`);
    const prepare = (sql: string) => this.database.prepare(sql);
    this.statements = {
      bindName: prepare('INSERT OR IGNORE INTO names (kind, namespace, name, id) VALUES (?, ?, ?, ?)'),
      lookupName: prepare('SELECT id FROM names WHERE kind = ? AND namespace = ? AND name = ?'),
      unbindName: prepare('DELETE FROM names WHERE kind = ? AND namespace = ? AND name = ?'),
      putKey: prepare('INSERT INTO keys (namespace, key, value) VALUES (?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value'),
      getKey: prepare('SELECT value FROM keys WHERE namespace = ? AND key = ?'),
      deleteKey: prepare('DELETE FROM keys WHERE namespace = ? AND key = ?'),
      nextSequence: prepare('INSERT INTO sequences (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value'),
    };
    for (const table of ['nodes', 'actors', 'placement_groups', 'jobs'] as const) {
      this.statements[`put.${table}`] = prepare(`INSERT INTO ${table} (id, json, blob) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json, blob = excluded.blob`);
      this.statements[`get.${table}`] = prepare(`SELECT json, blob FROM ${table} WHERE id = ?`);
      this.statements[`list.${table}`] = prepare(`SELECT json, blob FROM ${table} ORDER BY rowid`);
      this.statements[`delete.${table}`] = prepare(`DELETE FROM ${table} WHERE id = ?`);
    }
  }

  close(): void {
    this.database.close();
  }

  putNode(record: NodeRecord): void {
    this.put('nodes', record.nodeId, record);
  }

  listNodes(): NodeRecord[] {
    return this.list('nodes');
  }

  putActor(record: ActorRecord): void {
    this.put('actors', record.actorId, record);
  }

  getActor(actorId: string): ActorRecord | undefined {
    return this.get('actors', actorId);
  }

  listActors(): ActorRecord[] {
    return this.list('actors');
  }

  deleteActor(actorId: string): void {
    this.run('delete.actors', actorId);
  }

  putPlacementGroup(record: PlacementGroupRecord): void {
    this.put('placement_groups', record.groupId, record);
  }

  getPlacementGroup(groupId: string): PlacementGroupRecord | undefined {
    return this.get('placement_groups', groupId);
  }

  listPlacementGroups(): PlacementGroupRecord[] {
    return this.list('placement_groups');
  }

  deletePlacementGroup(groupId: string): void {
    this.run('delete.placement_groups', groupId);
  }

  bindName(kind: NameKind, namespace: string, name: string, id: string): boolean {
    return this.run('bindName', kind, namespace, name, id).changes === 1;
  }

  lookupName(kind: NameKind, namespace: string, name: string): string | undefined {
    return (this.statement('lookupName').get(kind, namespace, name) as { id: string } | undefined)?.id;
  }

  unbindName(kind: NameKind, namespace: string, name: string): void {
    this.run('unbindName', kind, namespace, name);
  }

  putJob(record: JobRecord): void {
    this.put('jobs', record.jobId, record);
  }

  listJobs(): JobRecord[] {
    return this.list('jobs');
  }

  putKey(namespace: string, key: string, value: string): void {
    this.run('putKey', namespace, key, value);
  }

  getKey(namespace: string, key: string): string | undefined {
    return (this.statement('getKey').get(namespace, key) as { value: string } | undefined)?.value;
  }

  deleteKey(namespace: string, key: string): void {
    this.run('deleteKey', namespace, key);
  }

  nextSequence(name: string): number {
    return (this.statement('nextSequence').get(name) as { value: number }).value;
  }

  private statement(name: string): Database.Statement {
    return this.statements[name] as Database.Statement;
  }

  private run(name: string, ...parameters: unknown[]): Database.RunResult {
    return this.statement(name).run(...parameters);
  }

  private put(table: Table, id: string, record: unknown): void {
    const { json, blob } = pack(record);
    this.run(`put.${table}`, id, json, blob);
  }

  private get<T>(table: Table, id: string): T | undefined {
    const row = this.statement(`get.${table}`).get(id) as { json: string; blob: Buffer | null } | undefined;
    return row === undefined ? undefined : (unpack(row.json, row.blob) as T);
  }

  private list<T>(table: Table): T[] {
    return (this.statement(`list.${table}`).all() as { json: string; blob: Buffer | null }[]).map((row) => unpack(row.json, row.blob) as T);
  }
}
