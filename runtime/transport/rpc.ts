import { TransportError } from '../runtime-errors.ts';
import { FrameKind, type Channel, type Frame } from './transport.ts';

/** Answers one request, now or later (an actor queues calls per concurrency group). */
export interface Responder {
  ok(body: string, buffers?: Uint8Array[]): void;
  /** `body` is the JSON of `ErrorData`. */
  error(body: string): void;
}

export interface RpcHandlers {
  onRequest?(frame: Frame, respond: Responder, connection: RpcConnection): void;
  onNotify?(frame: Frame, connection: RpcConnection): void;
  onClose?(connection: RpcConnection, error?: Error): void;
}

/**
 * Request/response and notifications over one channel, in both directions. Responses are matched by id, so many
 * requests can be in flight (pipelined) on one channel; their replies come back in whatever order the peer
 * finishes them. When the channel closes, every pending request rejects with `TransportError('CHANNEL_CLOSED')`
 * and the owner decides what that means (an actor caller asks the head whether the actor died or restarts).
 *
 * @example
 * const rpc = new RpcConnection(channel, { onRequest: (frame, respond) => respond.ok(frame.body) });
 * const reply = await rpc.request('echo', '"hi"');
 */
export class RpcConnection {
  /** Who is on the other end, once it said hello (a process id such as `driver` or `w12`). */
  peerId: string | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (frame: Frame) => void; reject: (error: Error) => void }>();
  private closedError: Error | undefined;

  constructor(readonly channel: Channel, private readonly handlers: RpcHandlers = {}) {
    channel.onFrame((frame) => this.receive(frame));
    channel.onClose((error) => this.closed(error));
  }

  get isClosed(): boolean {
    return this.channel.closed;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  /** Resolves with the response frame (kind `Response` or `Error`); rejects only when the channel closes. */
  request(route: string, body: string, buffers: Uint8Array[] = []): Promise<Frame> {
    if (this.closedError !== undefined || this.channel.closed) {
      return Promise.reject(this.closedError ?? new TransportError('CHANNEL_CLOSED', `cannot send '${route}': the channel is closed`));
    }
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
    return new Promise<Frame>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.channel.send({ kind: FrameKind.Request, id, route, body, buffers });
    });
  }

  notify(route: string, body: string, buffers: Uint8Array[] = []): void {
    if (this.channel.closed) return;
    this.channel.send({ kind: FrameKind.Notify, id: 0, route, body, buffers });
  }

  close(): void {
    this.channel.close();
  }

  private receive(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.Response:
      case FrameKind.Error: {
        const waiter = this.pending.get(frame.id);
        if (!waiter) return;
        this.pending.delete(frame.id);
        waiter.resolve(frame);
        return;
      }
      case FrameKind.Request: {
        const respond = this.responder(frame.id, frame.route);
        if (!this.handlers.onRequest) {
          respond.error(JSON.stringify({ name: 'TransportError', code: 'FRAME_INVALID', message: `no handler for request '${frame.route}'` }));
          return;
        }
        this.handlers.onRequest(frame, respond, this);
        return;
      }
      case FrameKind.Notify:
        this.handlers.onNotify?.(frame, this);
        return;
      default:
        this.channel.close();
    }
  }

  private responder(id: number, route: string): Responder {
    let answered = false;
    const send = (kind: number, body: string, buffers: Uint8Array[]) => {
      if (answered || this.channel.closed) return;
      answered = true;
      this.channel.send({ kind, id, route, body, buffers });
    };
    return {
      ok: (body, buffers = []) => send(FrameKind.Response, body, buffers),
      error: (body) => send(FrameKind.Error, body, []),
    };
  }

  private closed(error?: Error): void {
    this.closedError = new TransportError('CHANNEL_CLOSED', `channel closed${error ? `: ${error.message}` : ''}`);
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of pending) waiter.reject(this.closedError);
    this.handlers.onClose?.(this, error);
  }
}
