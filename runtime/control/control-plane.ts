import type { ActorDeathCause } from '../runtime-errors.ts';
import type { ObjectControl } from '../object-store/object-client.ts';
import type { ObjectStoreUsage } from '../object-store/object-directory.ts';
import type { Resources } from '../resources.ts';
import type { EncodedValue } from '../value-codec.ts';

/**
 * What every process asks of the head. The driver of the embedded runtime calls the head in-process; a worker
 * calls it over its channel (`head-client.ts`); in cluster mode a driver or node agent will call it over gRPC.
 * Keeping this one interface is what lets the head move to its own process with a SQLite control store later
 * without touching actors, handles or the object store.
 */
export interface ControlPlane extends ObjectControl {
  createActor(creator: string, spec: ActorCreateSpec): Promise<ActorInfo>;
  getActor(name: string, namespace: string): Promise<ActorInfo | undefined>;
  /**
   * Wait until the actor has an incarnation newer than `afterIncarnation` (resolves `alive`) or is dead for good
   * (resolves `dead`). `previousDeath` says why incarnation `afterIncarnation` ended, when it did.
   */
  resolveActor(actorId: string, afterIncarnation: number): Promise<ActorResolution>;
  killActor(actorId: string, options: { restart: boolean }): Promise<void>;
  /** A detached actor was used: push back its TTL. */
  touchActor(actorId: string): void;
  createPlacementGroup(creator: string, spec: PlacementGroupSpec): Promise<PlacementGroupInfo>;
  waitPlacementGroup(groupId: string, timeoutMs: number | undefined): Promise<PlacementGroupInfo>;
  removePlacementGroup(groupId: string): Promise<void>;
  nodes(): Promise<NodeInfo[]>;
  /** Actors that are not dead yet (pending, starting, alive or restarting). */
  listActors(): Promise<ActorSummary[]>;
  /** Placement groups that are not removed (pending or created). */
  listPlacementGroups(): Promise<PlacementGroupInfo[]>;
  objectStoreUsage(): Promise<ObjectStoreUsage>;
  /** Publish a small shared value (e.g. a collective group's unique id) under `namespace/key`. */
  putKey(namespace: string, key: string, value: string): Promise<void>;
  getKey(namespace: string, key: string): Promise<string | undefined>;
}

export type PlacementStrategy = 'PACK' | 'SPREAD' | 'STRICT_PACK' | 'STRICT_SPREAD';

/** Wire form of an actor to create (the handle-side options after validation and defaults). */
export interface ActorCreateSpec {
  /** `file:` URL of the module that exports the class. */
  module: string;
  exportName: string;
  /** Constructor arguments, encoded once by the creator and kept by the head to re-run the constructor on restart. */
  args: EncodedValue;
  name?: string;
  namespace?: string;
  role: string;
  resources: Resources;
  placementGroupId?: string;
  bundleIndex?: number;
  maxRestarts: number;
  maxTaskRetries: number;
  /** Concurrent calls in the default group. */
  maxConcurrency: number;
  concurrencyGroups: Record<string, { maxConcurrency: number; methods: string[] }>;
  detached: boolean;
  ttlMs?: number;
  env: Record<string, string>;
  execArgv: string[];
  /** Set for members of an actor group. */
  group?: { name: string; rank: number; size: number };
}

/** What a caller needs to reach an actor's current incarnation. */
export interface ActorInfo {
  actorId: string;
  /** The actor's name, or `<role>-<id>` for an unnamed actor; every message about the actor uses it. */
  displayName: string;
  role: string;
  namespace?: string;
  maxTaskRetries: number;
  incarnation: number;
  /** Transport address of the worker's call listener. */
  address: string;
  /** Cluster mode: the same listener for callers on the worker's own node (a Unix socket). */
  localAddress?: string;
  /** Process id of the current incarnation (refs sent to it are announced for this id). */
  clientId: string;
  nodeId: string;
  gpuIds: string[];
}

export type ActorResolution =
  | { state: 'alive'; info: ActorInfo; previousDeath?: ActorDeathCause }
  | { state: 'dead'; displayName: string; role: string; cause: ActorDeathCause; restartsExhausted: boolean; maxRestarts: number; previousDeath?: ActorDeathCause };

export interface PlacementGroupSpec {
  bundles: Resources[];
  strategy: PlacementStrategy;
  name?: string;
  namespace?: string;
}

export interface PlacementGroupInfo {
  groupId: string;
  displayName: string;
  strategy: PlacementStrategy;
  state: 'pending' | 'created' | 'removed';
  bundles: Resources[];
  /** Node of each bundle once created. */
  bundleNodes: (string | undefined)[];
}

/** One row of `listActors()`: what an operator (or a leak check) needs to know about a live actor. */
export interface ActorSummary {
  actorId: string;
  displayName: string;
  role: string;
  state: 'pending' | 'starting' | 'alive' | 'restarting';
  nodeId?: string;
  placementGroupId?: string;
  resources: Resources;
}

export interface NodeInfo {
  nodeId: string;
  total: Resources;
  free: Resources;
  gpuIds: string[];
  alive: boolean;
  /** Cluster mode: the node agent's address, its registration epoch, and why it was declared dead. */
  address?: string;
  epoch?: number;
  deathReason?: string;
  /** Cluster mode: object transfers this node served to other nodes and fetched from them (as last reported). */
  objectTransfers?: { served: number; fetched: number };
}
