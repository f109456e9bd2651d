import type { Logger } from 'pino';
import { errorToData } from '../runtime-errors.ts';
import { RpcConnection, type Responder } from '../transport/rpc.ts';
import { transportFor } from '../transport/transports.ts';
import type { Frame, Listener } from '../transport/transport.ts';
import { decodeValue, encodeValue, viewBuffer } from '../value-codec.ts';
import type { ControlPlane } from '../control/control-plane.ts';
import type { ReferenceOperation } from '../object-store/object-directory.ts';
import type { ObjectLocation, ObjectHint } from '../object-store/object-ref.ts';
import type { WorkerAssignment } from './worker-pool.ts';

/** What the head (or, on a cluster node, the node agent standing in for it) does for the processes it serves. */
export interface HeadService extends ControlPlane {
  workerSpec(clientId: string): Promise<WorkerAssignment>;
  workerReady(clientId: string, address: string, localAddress?: string): void;
  workerFailed(clientId: string, reason: string): void;
}

/**
 * Answer one control request of `caller`. Shared by the local channel (workers) and a cluster head's gRPC
 * channels (drivers, node agents on behalf of their workers). The caller's identity is never taken from the
 * arguments it sends.
 */
export async function serveControlRequest(service: HeadService, caller: string, route: string, args: unknown[]): Promise<unknown> {
  switch (route) {
    case 'reserve':
      return service.reserve(caller, args[1] as string, args[2] as number);
    case 'locate':
      return service.locate(args[0] as string, (args[1] as ObjectHint | null) ?? undefined);
    case 'objectStoreUsage':
      return service.objectStoreUsage();
    case 'createActor':
      return service.createActor(caller, args[1] as never);
    case 'getActor':
      return (await service.getActor(args[0] as string, args[1] as string)) ?? null;
    case 'resolveActor':
      return service.resolveActor(args[0] as string, args[1] as number);
    case 'killActor':
      return service.killActor(args[0] as string, args[1] as { restart: boolean });
    case 'createPlacementGroup':
      return service.createPlacementGroup(caller, args[1] as never);
    case 'waitPlacementGroup':
      return service.waitPlacementGroup(args[0] as string, (args[1] as number | null) ?? undefined);
    case 'removePlacementGroup':
      return service.removePlacementGroup(args[0] as string);
    case 'nodes':
      return service.nodes();
    case 'listActors':
      return service.listActors();
    case 'listPlacementGroups':
      return service.listPlacementGroups();
    case 'putKey':
      return service.putKey(args[0] as string, args[1] as string, args[2] as string);
    case 'getKey':
      return (await service.getKey(args[0] as string, args[1] as string)) ?? null;
    case 'workerSpec':
      return service.workerSpec(caller);
    case 'workerReady':
      return service.workerReady(caller, args[0] as string, (args[1] as string | null) ?? undefined);
    case 'workerFailed':
      return service.workerFailed(caller, args[0] as string);
    default:
      throw new Error(`unknown control request '${route}'`);
  }
}

/** Apply one control notification of `caller` (reference operations, relocations, TTL touches). */
export function serveControlNotification(service: HeadService, caller: string, route: string, args: unknown[]): void {
  switch (route) {
    case 'references':
      service.references(caller, args[0] as ReferenceOperation[]);
      return;
    case 'relocate':
      service.relocate(args[0] as string, args[1] as ObjectLocation);
      return;
    case 'touchActor':
      service.touchActor(args[0] as string);
      return;
  }
}

/** Decode a request frame's argument list. */
export function frameArguments(frame: Frame): unknown[] {
  return decodeValue(frame.body, (index, kind) => viewBuffer(frame.buffers[index] as Uint8Array, kind)) as unknown[];
}

/** Send a result (or the error, as data the caller rebuilds into the same class). */
export function respondWith(respond: Responder, work: Promise<unknown>): void {
  work.then(
    (result) => {
      const encoded = encodeValue(result ?? null);
      respond.ok(encoded.json, encoded.buffers);
    },
    (error: unknown) => respond.error(JSON.stringify(errorToData(error))),
  );
}

/**
 * Serves the head to worker processes over the local channel. A request's body is the encoded argument list
 * (`value-codec.ts`), the response the encoded result; failures travel as error data and are rebuilt as the same
 * error class in the worker. The caller's identity is the id it said hello with, never an argument it sends.
 */
export class HeadServer {
  private listener: Listener | undefined;
  private readonly connections = new Set<RpcConnection>();

  constructor(private readonly head: HeadService, private readonly logger: Logger) {}

  async listen(address: string): Promise<string> {
    this.listener = await transportFor(address).listen(address, (channel) => {
      const connection = new RpcConnection(channel, {
        onRequest: (frame, respond, rpc) => respondWith(respond, this.request(frame, rpc)),
        onNotify: (frame, rpc) => this.notify(frame, rpc),
        onClose: (rpc) => this.connections.delete(rpc),
      });
      this.connections.add(connection);
    });
    return this.listener.address;
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.close();
    await this.listener?.close();
  }

  private async request(frame: Frame, rpc: RpcConnection): Promise<unknown> {
    return serveControlRequest(this.head, rpc.peerId ?? 'unknown', frame.route, frameArguments(frame));
  }

  private notify(frame: Frame, rpc: RpcConnection): void {
    try {
      const args = JSON.parse(frame.body) as unknown[];
      if (frame.route === 'hello') {
        rpc.peerId = args[0] as string;
        return;
      }
      serveControlNotification(this.head, rpc.peerId ?? 'unknown', frame.route, args);
    } catch (error) {
      this.logger.error({ err: error, route: frame.route }, 'bad notification from a worker');
    }
  }
}
