import type { ActorDeathCause } from '../runtime-errors.ts';
import type { Resources } from '../resources.ts';
import type { ActorCreateSpec, PlacementStrategy } from './control-plane.ts';

/**
 * The head's tables as plain data: nodes, actors, placement groups and named things. Live objects (processes,
 * resource pools, waiters) stay in the head; everything a restarted head would need to recover goes through
 * this interface. The embedded runtime keeps it in memory; a cluster head keeps it in SQLite (`SqliteControlStore`,
 * better-sqlite3 in WAL mode) without changing the head's logic, which is why every method is synchronous.
 *
 * @example
 * const store = new MemoryControlStore();
 * store.bindName('actor', 'ppo', 'policy-0', 'a1'); // true
 */
export interface ControlStore {
  putNode(record: NodeRecord): void;
  listNodes(): NodeRecord[];
  putActor(record: ActorRecord): void;
  getActor(actorId: string): ActorRecord | undefined;
  listActors(): ActorRecord[];
  deleteActor(actorId: string): void;
  putPlacementGroup(record: PlacementGroupRecord): void;
  getPlacementGroup(groupId: string): PlacementGroupRecord | undefined;
  listPlacementGroups(): PlacementGroupRecord[];
  deletePlacementGroup(groupId: string): void;
  /** Bind `namespace/name` to an id; false when the name is taken. */
  bindName(kind: NameKind, namespace: string, name: string, id: string): boolean;
  lookupName(kind: NameKind, namespace: string, name: string): string | undefined;
  unbindName(kind: NameKind, namespace: string, name: string): void;
  /** Drivers that connected (Ray's jobs): when they came, when and how they left. */
  putJob(record: JobRecord): void;
  listJobs(): JobRecord[];
  /** Small shared values, e.g. a collective group's unique id published by its rank 0. */
  putKey(namespace: string, key: string, value: string): void;
  getKey(namespace: string, key: string): string | undefined;
  deleteKey(namespace: string, key: string): void;
  /** The next number of a named counter (1, 2, ...); ids made from it are never reused, even across restarts. */
  nextSequence(name: string): number;
}

export type NameKind = 'actor' | 'placement-group';

export interface NodeRecord {
  nodeId: string;
  resources: Resources;
  gpuIds: string[];
  alive: boolean;
  /** Cluster mode: which registration of this node id (a healed or restarted node comes back with a new one). */
  epoch?: number;
  /** Cluster mode: the node agent's gRPC address (where its objects are fetched). */
  address?: string;
  /** Why the node was declared dead. */
  deathReason?: string;
}

export interface JobRecord {
  /** The driver's client id. */
  jobId: string;
  state: 'running' | 'finished' | 'failed';
  startedMs: number;
  endedMs?: number;
  /** Where the driver ran (its object address) and why it ended, when it did not shut down cleanly. */
  address?: string;
  reason?: string;
}

export type ActorState = 'pending' | 'starting' | 'alive' | 'restarting' | 'dead';

export interface ActorRecord {
  actorId: string;
  displayName: string;
  spec: ActorCreateSpec;
  /** Process id of the creator; a non-detached actor dies with it. */
  owner: string;
  state: ActorState;
  incarnation: number;
  restarts: number;
  nodeId?: string;
  /** The placement-group bundle it runs in (so a restarted head can re-reserve it there). */
  bundle?: number;
  gpuIds: string[];
  /** Current incarnation's process id and call address. */
  clientId?: string;
  address?: string;
  /** Cluster mode: the worker's address for callers on its own node (a Unix socket). */
  localAddress?: string;
  pid?: number;
  /** Why each ended incarnation ended. */
  deaths: Record<number, ActorDeathCause>;
  finalCause?: ActorDeathCause;
  lastActivityMs: number;
}

export interface PlacementGroupRecord {
  groupId: string;
  displayName: string;
  name?: string;
  namespace?: string;
  strategy: PlacementStrategy;
  bundles: Resources[];
  state: 'pending' | 'created' | 'removed';
  bundleNodes: (string | undefined)[];
  owner: string;
}

export class MemoryControlStore implements ControlStore {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly actors = new Map<string, ActorRecord>();
  private readonly groups = new Map<string, PlacementGroupRecord>();
  private readonly names = new Map<string, string>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly keys = new Map<string, string>();
  private readonly sequences = new Map<string, number>();

  putNode(record: NodeRecord): void {
    this.nodes.set(record.nodeId, record);
  }

  listNodes(): NodeRecord[] {
    return [...this.nodes.values()];
  }

  putActor(record: ActorRecord): void {
    this.actors.set(record.actorId, record);
  }

  getActor(actorId: string): ActorRecord | undefined {
    return this.actors.get(actorId);
  }

  listActors(): ActorRecord[] {
    return [...this.actors.values()];
  }

  deleteActor(actorId: string): void {
    this.actors.delete(actorId);
  }

  putPlacementGroup(record: PlacementGroupRecord): void {
    this.groups.set(record.groupId, record);
  }

  getPlacementGroup(groupId: string): PlacementGroupRecord | undefined {
    return this.groups.get(groupId);
  }

  listPlacementGroups(): PlacementGroupRecord[] {
    return [...this.groups.values()];
  }

  deletePlacementGroup(groupId: string): void {
    this.groups.delete(groupId);
  }

  bindName(kind: NameKind, namespace: string, name: string, id: string): boolean {
    const key = `${kind}\u0000${namespace}\u0000${name}`;
    if (this.names.has(key)) return false;
    this.names.set(key, id);
    return true;
  }

  lookupName(kind: NameKind, namespace: string, name: string): string | undefined {
    return this.names.get(`${kind}\u0000${namespace}\u0000${name}`);
  }

  unbindName(kind: NameKind, namespace: string, name: string): void {
    this.names.delete(`${kind}\u0000${namespace}\u0000${name}`);
  }

  putJob(record: JobRecord): void {
    this.jobs.set(record.jobId, record);
  }

  listJobs(): JobRecord[] {
    return [...this.jobs.values()];
  }

  putKey(namespace: string, key: string, value: string): void {
    this.keys.set(`${namespace}\u0000${key}`, value);
  }

  getKey(namespace: string, key: string): string | undefined {
    return this.keys.get(`${namespace}\u0000${key}`);
  }

  deleteKey(namespace: string, key: string): void {
    this.keys.delete(`${namespace}\u0000${key}`);
  }

  nextSequence(name: string): number {
    const next = (this.sequences.get(name) ?? 0) + 1;
    this.sequences.set(name, next);
    return next;
  }
}
