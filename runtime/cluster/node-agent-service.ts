import type { ActorCreateSpec, ActorInfo, ActorSummary, ActorResolution, NodeInfo, PlacementGroupInfo, PlacementGroupSpec } from '../control/control-plane.ts';
import type { HeadService } from '../head/head-server.ts';
import type { WorkerAssignment } from '../head/worker-pool.ts';
import type { ObjectDirectory, ObjectStatus, ObjectStoreUsage, ReferenceOperation } from '../object-store/object-directory.ts';
import type { ObjectHint, ObjectLocation } from '../object-store/object-ref.ts';
import { ConfigError } from '../errors.ts';
import type { HeadLink } from './head-link.ts';
import type { ObjectHome } from './object-home.ts';

/** What the agent knows of the workers it runs (for `workerSpec` and for reconciling with the head). */
export interface AgentWorkers {
  assignment(clientId: string): Promise<WorkerAssignment> | undefined;
  ready(clientId: string, address: string, localAddress: string | undefined): void;
}

/**
 * What a node agent does for its workers, which talk to it exactly as embedded workers talk to the embedded head
 * (the same local channel and protocol): object operations stay on the node (its directory and object home),
 * everything else is forwarded to the cluster head in the worker's name (the head checks that the worker is this
 * node's).
 *
 * @example
 * const server = new HeadServer(new NodeAgentService(`node:${nodeId}`, link, directory, home, workers), logger);
 */
export class NodeAgentService implements HeadService {
  constructor(
    /** The agent's own name in requests whose answer does not depend on the caller. */
    private readonly self: string,
    private readonly link: HeadLink,
    private readonly directory: ObjectDirectory,
    private readonly home: ObjectHome,
    private readonly workers: AgentWorkers,
  ) {}

  // ---- objects: this node ----

  async reserve(owner: string, ownerName: string, bytes: number): Promise<{ id: string; location: ObjectLocation }> {
    return this.directory.reserve(owner, ownerName, bytes);
  }

  relocate(id: string, location: ObjectLocation): void {
    this.directory.relocate(id, location);
  }

  references(client: string, operations: ReferenceOperation[]): void {
    this.home.apply(client, operations);
  }

  locate(id: string, hint?: ObjectHint): Promise<ObjectStatus> {
    return this.home.locate(id, hint);
  }

  objectStoreUsage(): Promise<ObjectStoreUsage> {
    return this.forward('objectStoreUsage', this.self, []);
  }

  // ---- control: the head ----

  createActor(creator: string, spec: ActorCreateSpec): Promise<ActorInfo> {
    return this.forward('createActor', creator, [creator, spec]);
  }

  async getActor(name: string, namespace: string): Promise<ActorInfo | undefined> {
    return (await this.forward<ActorInfo | null>('getActor', this.self, [name, namespace])) ?? undefined;
  }

  resolveActor(actorId: string, afterIncarnation: number): Promise<ActorResolution> {
    return this.forward('resolveActor', this.self, [actorId, afterIncarnation]);
  }

  async killActor(actorId: string, options: { restart: boolean }): Promise<void> {
    await this.forward('killActor', this.self, [actorId, options]);
  }

  touchActor(actorId: string): void {
    this.link.notify('touchActor', [actorId]);
  }

  createPlacementGroup(creator: string, spec: PlacementGroupSpec): Promise<PlacementGroupInfo> {
    return this.forward('createPlacementGroup', creator, [creator, spec]);
  }

  waitPlacementGroup(groupId: string, timeoutMs: number | undefined): Promise<PlacementGroupInfo> {
    return this.forward('waitPlacementGroup', this.self, [groupId, timeoutMs ?? null]);
  }

  async removePlacementGroup(groupId: string): Promise<void> {
    await this.forward('removePlacementGroup', this.self, [groupId]);
  }

  nodes(): Promise<NodeInfo[]> {
    return this.forward('nodes', this.self, []);
  }

  listActors(): Promise<ActorSummary[]> {
    return this.forward('listActors', this.self, []);
  }

  listPlacementGroups(): Promise<PlacementGroupInfo[]> {
    return this.forward('listPlacementGroups', this.self, []);
  }

  async putKey(namespace: string, key: string, value: string): Promise<void> {
    await this.forward('putKey', this.self, [namespace, key, value]);
  }

  async getKey(namespace: string, key: string): Promise<string | undefined> {
    return (await this.forward<string | null>('getKey', this.self, [namespace, key])) ?? undefined;
  }

  // ---- this node's workers ----

  workerSpec(clientId: string): Promise<WorkerAssignment> {
    const assignment = this.workers.assignment(clientId);
    if (!assignment) throw new ConfigError([{ path: 'clientId', message: `unknown worker ${clientId}` }]);
    return assignment;
  }

  workerReady(clientId: string, address: string, localAddress?: string): void {
    this.workers.ready(clientId, address, localAddress);
    this.link.notify('workerReady', [clientId, address, localAddress ?? null]);
  }

  workerFailed(clientId: string, reason: string): void {
    this.link.notify('workerFailed', [clientId, reason]);
  }

  private forward<T>(route: string, caller: string, args: unknown[]): Promise<T> {
    return this.link.request<T>(route, [caller, ...args]);
  }
}
