import type { Logger } from 'pino';
import { errorToData } from '../runtime-errors.ts';
import { RpcConnection, type Responder } from '../transport/rpc.ts';
import { transportFor } from '../transport/transports.ts';
import type { Frame, Listener } from '../transport/transport.ts';
import { decodeValue, encodeValue, viewBuffer } from '../value-codec.ts';
import type { ReferenceOperation } from '../object-store/object-directory.ts';
import type { ObjectLocation } from '../object-store/object-ref.ts';
import type { Head } from './head.ts';

/**
 * Serves the head to worker processes over the local channel. A request's body is the encoded argument list
 * (`value-codec.ts`), the response the encoded result; failures travel as error data and are rebuilt as the same
 * error class in the worker. The caller's identity is the id it said hello with, never an argument it sends.
 */
export class HeadServer {
  private listener: Listener | undefined;
  private readonly connections = new Set<RpcConnection>();

  constructor(private readonly head: Head, private readonly logger: Logger) {}

  async listen(address: string): Promise<string> {
    this.listener = await transportFor(address).listen(address, (channel) => {
      const connection = new RpcConnection(channel, {
        onRequest: (frame, respond, rpc) => void this.request(frame, respond, rpc),
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

  private async request(frame: Frame, respond: Responder, rpc: RpcConnection): Promise<void> {
    try {
      const args = decodeValue(frame.body, (index, kind) => viewBuffer(frame.buffers[index] as Uint8Array, kind)) as unknown[];
      const caller = rpc.peerId ?? 'unknown';
      const head = this.head;
      let result: unknown;
      switch (frame.route) {
        case 'reserve':
          result = await head.reserve(caller, args[1] as string, args[2] as number);
          break;
        case 'locate':
          result = await head.locate(args[0] as string);
          break;
        case 'objectStoreUsage':
          result = await head.objectStoreUsage();
          break;
        case 'createActor':
          result = await head.createActor(caller, args[1] as never);
          break;
        case 'getActor':
          result = (await head.getActor(args[0] as string, args[1] as string)) ?? null;
          break;
        case 'resolveActor':
          result = await head.resolveActor(args[0] as string, args[1] as number);
          break;
        case 'killActor':
          result = await head.killActor(args[0] as string, args[1] as { restart: boolean });
          break;
        case 'createPlacementGroup':
          result = await head.createPlacementGroup(caller, args[1] as never);
          break;
        case 'waitPlacementGroup':
          result = await head.waitPlacementGroup(args[0] as string, (args[1] as number | null) ?? undefined);
          break;
        case 'removePlacementGroup':
          result = await head.removePlacementGroup(args[0] as string);
          break;
        case 'nodes':
          result = await head.nodes();
          break;
        case 'listActors':
          result = await head.listActors();
          break;
        case 'listPlacementGroups':
          result = await head.listPlacementGroups();
          break;
        case 'workerSpec':
          result = await head.workerSpec(caller);
          break;
        case 'workerReady':
          result = head.workerReady(caller, args[0] as string);
          break;
        case 'workerFailed':
          result = head.workerFailed(caller, args[0] as string);
          break;
        default:
          throw new Error(`unknown head request '${frame.route}'`);
      }
      const encoded = encodeValue(result ?? null);
      respond.ok(encoded.json, encoded.buffers);
    } catch (error) {
      respond.error(JSON.stringify(errorToData(error)));
    }
  }

  private notify(frame: Frame, rpc: RpcConnection): void {
    try {
      const args = JSON.parse(frame.body) as unknown[];
      switch (frame.route) {
        case 'hello':
          rpc.peerId = args[0] as string;
          return;
        case 'references':
          this.head.references(rpc.peerId ?? 'unknown', args[0] as ReferenceOperation[]);
          return;
        case 'relocate':
          this.head.relocate(args[0] as string, args[1] as ObjectLocation);
          return;
        case 'touchActor':
          this.head.touchActor(args[0] as string);
          return;
      }
    } catch (error) {
      this.logger.error({ err: error, route: frame.route }, 'bad notification from a worker');
    }
  }
}
