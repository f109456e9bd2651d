import { encodeValue } from '../value-codec.ts';
import { errorFromData, type ErrorData } from '../runtime-errors.ts';
import type { ObjectStoreUsage } from '../object-store/object-directory.ts';
import type { RpcConnection } from '../transport/rpc.ts';
import { FrameKind } from '../transport/transport.ts';
import type { NodeRequester } from './remote-launcher.ts';
import { PosttrainError } from '../errors.ts';

/** The head's side of one registered node: its epoch, its agent's connection, what it reported last. */
export interface NodeSession {
  nodeId: string;
  epoch: number;
  /** The agent's object home. */
  address: string;
  /** Undefined while the agent is reconnecting (or has not yet, after a head restart). */
  rpc: RpcConnection | undefined;
  lastHeartbeatMs: number;
  /** Requests for the agent made while it was disconnected; sent when it is back. */
  queued: { route: string; args: unknown[]; resolve: (value: unknown) => void; reject: (error: Error) => void }[];
  transfers: { served: number; fetched: number };
  usage: ObjectStoreUsage | undefined;
}

/** The node is gone: requests to its agent fail with this. */
export class NodeGoneError extends PosttrainError {
  constructor(nodeId: string, reason: string) {
    super('NODE_GONE', `node ${nodeId} is gone: ${reason}`, { path: nodeId });
  }
}

/**
 * The registered nodes and the head's requests to their agents (start a worker, kill one). A request to an agent
 * that is reconnecting waits for it; a request to a node that is declared dead fails.
 *
 * @example
 * await sessions.request('node-1', 'killWorker', ['a12.1']);
 */
export class NodeSessions implements NodeRequester {
  private readonly sessions = new Map<string, NodeSession>();

  get(nodeId: string): NodeSession | undefined {
    return this.sessions.get(nodeId);
  }

  all(): NodeSession[] {
    return [...this.sessions.values()];
  }

  add(session: NodeSession): void {
    this.sessions.set(session.nodeId, session);
  }

  /** The agent (re)connected on `rpc`: queued requests go out now. */
  attach(session: NodeSession, rpc: RpcConnection): void {
    if (session.rpc !== rpc) session.rpc?.close();
    session.rpc = rpc;
    for (const queued of session.queued.splice(0)) this.send(session, queued);
  }

  /** The agent's connection closed (it may come back before the node timeout). */
  detach(nodeId: string, rpc: RpcConnection): void {
    const session = this.sessions.get(nodeId);
    if (session?.rpc === rpc) session.rpc = undefined;
  }

  remove(nodeId: string, reason: string): void {
    const session = this.sessions.get(nodeId);
    if (!session) return;
    this.sessions.delete(nodeId);
    for (const queued of session.queued.splice(0)) queued.reject(new NodeGoneError(nodeId, reason));
    session.rpc?.close();
  }

  closeAll(): void {
    for (const session of this.sessions.values()) session.rpc?.close();
  }

  request(nodeId: string, route: string, args: unknown[]): Promise<unknown> {
    const session = this.sessions.get(nodeId);
    if (!session) return Promise.reject(new NodeGoneError(nodeId, 'not registered'));
    return new Promise((resolve, reject) => {
      const queued = { route, args, resolve, reject };
      if (session.rpc && !session.rpc.isClosed) this.send(session, queued);
      else session.queued.push(queued);
    });
  }

  private send(session: NodeSession, queued: NodeSession['queued'][number]): void {
    const rpc = session.rpc as RpcConnection;
    const encoded = encodeValue(queued.args);
    rpc.request(queued.route, encoded.json, encoded.buffers).then(
      (frame) => {
        if (frame.kind === FrameKind.Error) queued.reject(errorFromData(JSON.parse(frame.body) as ErrorData));
        else queued.resolve(undefined);
      },
      // The connection dropped before the answer: try again when the agent is back (start/kill are idempotent there).
      () => {
        if (this.sessions.get(session.nodeId) === session) session.queued.push(queued);
        else queued.reject(new NodeGoneError(session.nodeId, 'lost while the request was in flight'));
      },
    );
  }
}
