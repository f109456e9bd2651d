import type { ActorCreateSpec, ActorInfo, ActorSummary, ActorResolution, ControlPlane, NodeInfo, PlacementGroupInfo, PlacementGroupSpec } from '../control/control-plane.ts';
import type { ObjectDirectory, ObjectStatus, ObjectStoreUsage, ReferenceOperation } from '../object-store/object-directory.ts';
import type { ObjectHint, ObjectLocation } from '../object-store/object-ref.ts';
import type { HeadLink } from './head-link.ts';
import type { ObjectHome } from './object-home.ts';

/**
 * The control plane of a process that is not the head (a cluster driver, or a node agent serving its workers):
 * object operations stay local (its object directory and object home, which other nodes fetch from), everything
 * else is a request to the head over a link that reconnects by itself. Subclasses say only how a request names
 * its caller (`request`).
 */
export abstract class HeadForwardingControl implements ControlPlane {
  constructor(
    protected readonly link: HeadLink,
    private readonly directory: ObjectDirectory,
    private readonly home: ObjectHome,
  ) {}

  /**
   * Sends `route` to the head on behalf of `caller` (who creates actors and groups; for other routes the
   * forwarder's own name, `ownName`).
   */
  protected abstract request<T>(route: string, caller: string, args: unknown[]): Promise<T>;

  /** The forwarder's own name, for requests whose answer does not depend on the caller. */
  protected abstract readonly ownName: string;

  // ---- objects: this process's node ----

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

  // ---- control: the head ----

  objectStoreUsage(): Promise<ObjectStoreUsage> {
    return this.request('objectStoreUsage', this.ownName, []);
  }

  createActor(creator: string, spec: ActorCreateSpec): Promise<ActorInfo> {
    return this.request('createActor', creator, [creator, spec]);
  }

  async getActor(name: string, namespace: string): Promise<ActorInfo | undefined> {
    return (await this.request<ActorInfo | null>('getActor', this.ownName, [name, namespace])) ?? undefined;
  }

  resolveActor(actorId: string, afterIncarnation: number): Promise<ActorResolution> {
    return this.request('resolveActor', this.ownName, [actorId, afterIncarnation]);
  }

  async killActor(actorId: string, options: { restart: boolean }): Promise<void> {
    await this.request('killActor', this.ownName, [actorId, options]);
  }

  touchActor(actorId: string): void {
    this.link.notify('touchActor', [actorId]);
  }

  createPlacementGroup(creator: string, spec: PlacementGroupSpec): Promise<PlacementGroupInfo> {
    return this.request('createPlacementGroup', creator, [creator, spec]);
  }

  waitPlacementGroup(groupId: string, timeoutMs: number | undefined): Promise<PlacementGroupInfo> {
    return this.request('waitPlacementGroup', this.ownName, [groupId, timeoutMs ?? null]);
  }

  async removePlacementGroup(groupId: string): Promise<void> {
    await this.request('removePlacementGroup', this.ownName, [groupId]);
  }

  nodes(): Promise<NodeInfo[]> {
    return this.request('nodes', this.ownName, []);
  }

  listActors(): Promise<ActorSummary[]> {
    return this.request('listActors', this.ownName, []);
  }

  listPlacementGroups(): Promise<PlacementGroupInfo[]> {
    return this.request('listPlacementGroups', this.ownName, []);
  }

  async putKey(namespace: string, key: string, value: string): Promise<void> {
    await this.request('putKey', this.ownName, [namespace, key, value]);
  }

  async getKey(namespace: string, key: string): Promise<string | undefined> {
    return (await this.request<string | null>('getKey', this.ownName, [namespace, key])) ?? undefined;
  }
}
