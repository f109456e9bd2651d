import { errorFromData, type ErrorData } from '../runtime-errors.ts';
import { FrameKind } from '../transport/transport.ts';
import type { RpcConnection } from '../transport/rpc.ts';
import { decodeValue, encodeValue, viewBuffer } from '../value-codec.ts';
import type { ObjectStatus, ObjectStoreUsage, ReferenceOperation } from '../object-store/object-directory.ts';
import type { ObjectHint, ObjectLocation } from '../object-store/object-ref.ts';
import type { WorkerAssignment } from '../head/worker-pool.ts';
import type {
  ActorCreateSpec,
  ActorInfo,
  ActorResolution,
  ActorSummary,
  ControlPlane,
  NodeInfo,
  PlacementGroupInfo,
  PlacementGroupSpec,
} from './control-plane.ts';

/**
 * `ControlPlane` for a worker process: every operation is a request to the head over the worker's channel.
 * Reference operations and TTL touches are one-way notifications (batched by the channel per tick).
 */
export class HeadClient implements ControlPlane {
  constructor(private readonly rpc: RpcConnection) {}

  private async call<T>(route: string, ...args: unknown[]): Promise<T> {
    const encoded = encodeValue(args);
    const frame = await this.rpc.request(route, encoded.json, encoded.buffers);
    if (frame.kind === FrameKind.Error) throw errorFromData(JSON.parse(frame.body) as ErrorData);
    return decodeValue(frame.body, (index, kind) => viewBuffer(frame.buffers[index] as Uint8Array, kind)) as T;
  }

  reserve(owner: string, ownerName: string, bytes: number): Promise<{ id: string; location: ObjectLocation }> {
    return this.call('reserve', owner, ownerName, bytes);
  }

  relocate(id: string, location: ObjectLocation): void {
    this.rpc.notify('relocate', JSON.stringify([id, location]));
  }

  references(_client: string, operations: ReferenceOperation[]): void {
    this.rpc.notify('references', JSON.stringify([operations]));
  }

  locate(id: string, hint?: ObjectHint): Promise<ObjectStatus> {
    return this.call('locate', id, hint ?? null);
  }

  objectStoreUsage(): Promise<ObjectStoreUsage> {
    return this.call('objectStoreUsage');
  }

  createActor(creator: string, spec: ActorCreateSpec): Promise<ActorInfo> {
    return this.call('createActor', creator, spec);
  }

  async getActor(name: string, namespace: string): Promise<ActorInfo | undefined> {
    return (await this.call<ActorInfo | null>('getActor', name, namespace)) ?? undefined;
  }

  resolveActor(actorId: string, afterIncarnation: number): Promise<ActorResolution> {
    return this.call('resolveActor', actorId, afterIncarnation);
  }

  async killActor(actorId: string, options: { restart: boolean }): Promise<void> {
    await this.call('killActor', actorId, options);
  }

  touchActor(actorId: string): void {
    this.rpc.notify('touchActor', JSON.stringify([actorId]));
  }

  createPlacementGroup(creator: string, spec: PlacementGroupSpec): Promise<PlacementGroupInfo> {
    return this.call('createPlacementGroup', creator, spec);
  }

  waitPlacementGroup(groupId: string, timeoutMs: number | undefined): Promise<PlacementGroupInfo> {
    return this.call('waitPlacementGroup', groupId, timeoutMs ?? null);
  }

  async removePlacementGroup(groupId: string): Promise<void> {
    await this.call('removePlacementGroup', groupId);
  }

  nodes(): Promise<NodeInfo[]> {
    return this.call('nodes');
  }

  async putKey(namespace: string, key: string, value: string): Promise<void> {
    await this.call('putKey', namespace, key, value);
  }

  async getKey(namespace: string, key: string): Promise<string | undefined> {
    return (await this.call<string | null>('getKey', namespace, key)) ?? undefined;
  }

  listActors(): Promise<ActorSummary[]> {
    return this.call('listActors');
  }

  listPlacementGroups(): Promise<PlacementGroupInfo[]> {
    return this.call('listPlacementGroups');
  }

  /** Worker start-up: what to construct. */
  workerSpec(): Promise<WorkerAssignment> {
    return this.call('workerSpec');
  }

  async workerReady(address: string, localAddress?: string): Promise<void> {
    await this.call('workerReady', address, localAddress ?? null);
  }

  async workerFailed(reason: string): Promise<void> {
    await this.call('workerFailed', reason);
  }
}
