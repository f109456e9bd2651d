import type { ActorCreateSpec, ActorInfo, ActorSummary, ActorResolution, ControlPlane, NodeInfo, PlacementGroupInfo, PlacementGroupSpec } from '../control/control-plane.ts';
import type { ObjectDirectory, ObjectStatus, ObjectStoreUsage, ReferenceOperation } from '../object-store/object-directory.ts';
import type { ObjectHint, ObjectLocation } from '../object-store/object-ref.ts';
import type { HeadLink } from './head-link.ts';
import type { ObjectHome } from './object-home.ts';

/**
 * The control plane as a cluster driver sees it: its objects stay in its own store (other nodes fetch them from
 * its object home), everything else is a request to the head over a link that reconnects by itself.
 *
 * @example
 * const control = new DriverControl(link, directory, home);
 * await control.nodes();
 */
export class DriverControl implements ControlPlane {
  constructor(
    private readonly link: HeadLink,
    private readonly directory: ObjectDirectory,
    private readonly home: ObjectHome,
  ) {}

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
    return this.link.request('objectStoreUsage', []);
  }

  createActor(creator: string, spec: ActorCreateSpec): Promise<ActorInfo> {
    return this.link.request('createActor', [creator, spec]);
  }

  async getActor(name: string, namespace: string): Promise<ActorInfo | undefined> {
    return (await this.link.request<ActorInfo | null>('getActor', [name, namespace])) ?? undefined;
  }

  resolveActor(actorId: string, afterIncarnation: number): Promise<ActorResolution> {
    return this.link.request('resolveActor', [actorId, afterIncarnation]);
  }

  async killActor(actorId: string, options: { restart: boolean }): Promise<void> {
    await this.link.request('killActor', [actorId, options]);
  }

  touchActor(actorId: string): void {
    this.link.notify('touchActor', [actorId]);
  }

  createPlacementGroup(creator: string, spec: PlacementGroupSpec): Promise<PlacementGroupInfo> {
    return this.link.request('createPlacementGroup', [creator, spec]);
  }

  waitPlacementGroup(groupId: string, timeoutMs: number | undefined): Promise<PlacementGroupInfo> {
    return this.link.request('waitPlacementGroup', [groupId, timeoutMs ?? null]);
  }

  async removePlacementGroup(groupId: string): Promise<void> {
    await this.link.request('removePlacementGroup', [groupId]);
  }

  nodes(): Promise<NodeInfo[]> {
    return this.link.request('nodes', []);
  }

  listActors(): Promise<ActorSummary[]> {
    return this.link.request('listActors', []);
  }

  listPlacementGroups(): Promise<PlacementGroupInfo[]> {
    return this.link.request('listPlacementGroups', []);
  }

  async putKey(namespace: string, key: string, value: string): Promise<void> {
    await this.link.request('putKey', [namespace, key, value]);
  }

  async getKey(namespace: string, key: string): Promise<string | undefined> {
    return (await this.link.request<string | null>('getKey', [namespace, key])) ?? undefined;
  }
}
