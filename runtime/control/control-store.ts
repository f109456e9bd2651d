import type { ActorDeathCause } from '../runtime-errors.ts';
import type { Resources } from '../resources.ts';
import type { ActorCreateSpec, PlacementStrategy } from './control-plane.ts';

/**
 * The head's tables as plain data: nodes, actors, placement groups and named things. Live objects (processes,
 * resource pools, waiters) stay in the head; everything a restarted head would need to recover goes through
 * this interface. Today's implementation is in memory; cluster mode backs it with SQLite (better-sqlite3, WAL)
 * without changing the head's logic, which is why every method is synchronous.
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
}

export type NameKind = 'actor' | 'placement-group';

export interface NodeRecord {
  nodeId: string;
  resources: Resources;
  gpuIds: string[];
  alive: boolean;
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
  gpuIds: string[];
  /** Current incarnation's process id and call address. */
  clientId?: string;
  address?: string;
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
}
