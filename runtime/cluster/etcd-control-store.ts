import type { Etcd3, IKeyValue } from 'etcd3';
import type { Logger } from 'pino';
import { ConfigError, PosttrainError } from '../errors.ts';
import { MemoryControlStore, type ActorRecord, type ControlStore, type JobRecord, type NameKind, type NodeRecord, type PlacementGroupRecord } from '../control/control-store.ts';
import { packRecordBytes, unpackRecordBytes } from './control-record-codec.ts';

const SCHEMA_VERSION = 1;
/** etcd refuses a transaction of more than 128 operations (its `--max-txn-ops` default). */
const OPERATIONS_PER_TRANSACTION = 100;
const RETRY_LONGEST_WAIT_MS = 2_000;

export interface EtcdControlStoreOptions {
  /** A connected client (`new Etcd3({ hosts })`); the store does not close it. */
  client: Etcd3;
  /** Key prefix of this cluster's tables, e.g. `posttrain/`: several clusters can share one etcd. */
  prefix: string;
  /**
   * The key whose existence makes this process the one writer: the head's election key (it goes when the head's
   * lease expires). Every write is a transaction on "this key still exists", so a deposed head can write nothing.
   * Default: the store's own schema key (a single head, no election).
   */
  fenceKey?: string;
  logger?: Logger;
  /** The fence key is gone: another head took over. Nothing more is written; the caller must stop serving. */
  onFenced?(reason: string): void;
}

type Write = { key: string; value: Buffer } | { key: string; value: undefined };

/**
 * The head's control store in etcd, so that the state outlives the head's machine: a standby head elected after the
 * leader's lease expired (see `etcd-head-election.ts`) loads it and recovers the cluster as a head restarted on the
 * same SQLite file does. One key per record under `prefix` (`nodes/<id>`, `actors/<id>`, `placement-groups/<id>`,
 * `jobs/<id>`, `names/<kind>/<namespace>/<name>`, `keys/<namespace>/<key>`, `sequences/<name>`), each value the
 * record in the runtime's value encoding (raw bytes for typed arrays).
 *
 * The `ControlStore` interface is synchronous (the head's logic is), etcd is not. The head is the only writer, so the
 * store answers reads from its copy loaded at `open`, applies writes to that copy at once and sends them to etcd in
 * order, batched into transactions guarded by the fence key. `flushed()` resolves when every write made so far is
 * committed: the head service awaits it before answering a request, so what the head acknowledged is in etcd, as
 * with SQLite's one transaction per write. While etcd has no quorum, writes wait and are retried.
 *
 * @example
 * const store = await EtcdControlStore.open({ client: new Etcd3({ hosts: ['http://10.0.0.1:2379'] }), prefix: 'posttrain/' });
 * store.putKey('collectives', 'policy', '{"id":1}');
 * await store.flushed();
 */
export class EtcdControlStore implements ControlStore {
  private readonly memory = new MemoryControlStore();
  private readonly sequences = new Map<string, number>();
  private readonly queue: Write[] = [];
  private draining: Promise<void> | undefined;
  private fencedReason: string | undefined;
  private closed = false;

  private constructor(
    private readonly options: EtcdControlStoreOptions,
    private readonly fenceKey: string,
  ) {}

  /** Load every table under `prefix` (in the order records were first written), checking the schema version. */
  static async open(options: EtcdControlStoreOptions): Promise<EtcdControlStore> {
    const { client, prefix } = options;
    const schemaKey = `${prefix}schema`;
    let loaded: IKeyValue[];
    try {
      const version = await client.get(schemaKey).number();
      if (version !== null && version > SCHEMA_VERSION) {
        throw new ConfigError([{ path: 'etcd.prefix', message: `'${prefix}' in etcd was written by a newer posttrain (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade posttrain or use another prefix` }]);
      }
      if (version === null) await client.put(schemaKey).value(String(SCHEMA_VERSION));
      loaded = (await client.getAll().prefix(prefix).sort('Create', 'Ascend').exec()).kvs;
    } catch (error) {
      if (error instanceof PosttrainError) throw error;
      throw new ConfigError([{ path: 'etcd.endpoints', message: `cannot read the control store from etcd (prefix '${prefix}'): ${(error as Error).message}` }]);
    }
    const store = new EtcdControlStore(options, options.fenceKey ?? schemaKey);
    for (const entry of loaded) store.load(entry.key.toString('utf8').slice(prefix.length).split('/').map(decodeURIComponent), entry.value);
    return store;
  }

  /** Resolves when every write made so far is committed in etcd; rejects if this head was fenced off. */
  async flushed(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.fencedReason !== undefined) throw new PosttrainError('HEAD_FENCED', `this head no longer leads the cluster: ${this.fencedReason}`);
  }

  /** Send what is queued (waiting at most `timeoutMs` for etcd), then stop writing. */
  async close(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flushed().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.closed = true;
  }

  putNode(record: NodeRecord): void {
    this.memory.putNode(record);
    this.write(['nodes', record.nodeId], record);
  }

  listNodes(): NodeRecord[] {
    return this.memory.listNodes();
  }

  putActor(record: ActorRecord): void {
    this.memory.putActor(record);
    this.write(['actors', record.actorId], record);
  }

  getActor(actorId: string): ActorRecord | undefined {
    return this.memory.getActor(actorId);
  }

  listActors(): ActorRecord[] {
    return this.memory.listActors();
  }

  deleteActor(actorId: string): void {
    this.memory.deleteActor(actorId);
    this.write(['actors', actorId], undefined);
  }

  putPlacementGroup(record: PlacementGroupRecord): void {
    this.memory.putPlacementGroup(record);
    this.write(['placement-groups', record.groupId], record);
  }

  getPlacementGroup(groupId: string): PlacementGroupRecord | undefined {
    return this.memory.getPlacementGroup(groupId);
  }

  listPlacementGroups(): PlacementGroupRecord[] {
    return this.memory.listPlacementGroups();
  }

  deletePlacementGroup(groupId: string): void {
    this.memory.deletePlacementGroup(groupId);
    this.write(['placement-groups', groupId], undefined);
  }

  bindName(kind: NameKind, namespace: string, name: string, id: string): boolean {
    if (!this.memory.bindName(kind, namespace, name, id)) return false;
    this.write(['names', kind, namespace, name], Buffer.from(id, 'utf8'));
    return true;
  }

  lookupName(kind: NameKind, namespace: string, name: string): string | undefined {
    return this.memory.lookupName(kind, namespace, name);
  }

  unbindName(kind: NameKind, namespace: string, name: string): void {
    this.memory.unbindName(kind, namespace, name);
    this.write(['names', kind, namespace, name], undefined);
  }

  putJob(record: JobRecord): void {
    this.memory.putJob(record);
    this.write(['jobs', record.jobId], record);
  }

  listJobs(): JobRecord[] {
    return this.memory.listJobs();
  }

  putKey(namespace: string, key: string, value: string): void {
    this.memory.putKey(namespace, key, value);
    this.write(['keys', namespace, key], Buffer.from(value, 'utf8'));
  }

  getKey(namespace: string, key: string): string | undefined {
    return this.memory.getKey(namespace, key);
  }

  deleteKey(namespace: string, key: string): void {
    this.memory.deleteKey(namespace, key);
    this.write(['keys', namespace, key], undefined);
  }

  nextSequence(name: string): number {
    const next = (this.sequences.get(name) ?? 0) + 1;
    this.sequences.set(name, next);
    this.write(['sequences', name], Buffer.from(String(next), 'utf8'));
    return next;
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private load(path: string[], value: Buffer): void {
    const [table, ...parts] = path;
    const text = () => value.toString('utf8');
    switch (table) {
      case 'nodes':
        return this.memory.putNode(unpackRecordBytes(value) as NodeRecord);
      case 'actors':
        return this.memory.putActor(unpackRecordBytes(value) as ActorRecord);
      case 'placement-groups':
        return this.memory.putPlacementGroup(unpackRecordBytes(value) as PlacementGroupRecord);
      case 'jobs':
        return this.memory.putJob(unpackRecordBytes(value) as JobRecord);
      case 'names':
        this.memory.bindName(parts[0] as NameKind, parts[1] as string, parts[2] as string, text());
        return;
      case 'keys':
        return this.memory.putKey(parts[0] as string, parts[1] as string, text());
      case 'sequences':
        this.sequences.set(parts[0] as string, Number(text()));
        return;
      default:
      // The schema key, the heads' election keys: not tables.
    }
  }

  /** Queue one write (a record, raw bytes, or `undefined` for a delete) and make sure the queue is being sent. */
  private write(path: string[], value: Buffer | object | undefined): void {
    if (this.closed || this.fencedReason !== undefined) return;
    const key = this.options.prefix + path.map(encodeURIComponent).join('/');
    this.queue.push({ key, value: value === undefined || Buffer.isBuffer(value) ? value : packRecordBytes(value) });
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    let delay = 50;
    while (this.queue.length > 0 && this.fencedReason === undefined && !this.closed) {
      const taken = Math.min(this.queue.length, OPERATIONS_PER_TRANSACTION);
      // One transaction may not name a key twice; the writes are applied together, so the last one of each key wins.
      const last = new Map<string, Write>();
      for (const write of this.queue.slice(0, taken)) last.set(write.key, write);
      const client = this.options.client;
      const operations = [...last.values()].map((write) => (write.value === undefined ? client.delete().key(write.key) : client.put(write.key).value(write.value)));
      try {
        const result = await client.if(this.fenceKey, 'Create', '>', 0).then(...operations).commit();
        if (!result.succeeded) {
          this.fence(`its fence key ${this.fenceKey} is gone from etcd (its lease expired: another head may lead now)`);
          return;
        }
        this.queue.splice(0, taken);
        delay = 50;
      } catch (error) {
        // No quorum, or the member we talk to is down: the writes wait (the client moves to another endpoint).
        this.options.logger?.warn({ err: (error as Error).message, queued: this.queue.length }, `could not write the control store to etcd; retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RETRY_LONGEST_WAIT_MS);
      }
    }
  }

  private fence(reason: string): void {
    this.fencedReason = reason;
    this.queue.length = 0;
    this.options.logger?.error({ fenceKey: this.fenceKey }, `stopped writing the control store: ${reason}`);
    this.options.onFenced?.(reason);
  }
}
