import net from 'node:net';
import { CollectiveError } from '../errors.ts';
import type { Endpoint } from './endpoint.ts';
import { encodeControl, encodeHeader, FrameReader, type FrameHeader } from './frames.ts';

/** What a connection's owner does with what arrives. */
export interface ConnectionHandlers {
  control(message: Record<string, unknown>): void;
  /** Where a data frame's payload goes; absent while the owner expects no data (such a frame is a protocol error). */
  destination?(header: FrameHeader): Uint8Array;
  data?(header: FrameHeader, payload: Uint8Array): void;
  /** The connection ended: `error` says why when it was not an orderly close. */
  closed(error: Error | undefined): void;
}

/**
 * A socket that speaks frames. Control messages that arrive before the owner installs handlers are kept in order
 * and delivered when `attach` is called, so no message is lost between rendezvous and the communicator taking over.
 *
 * @example
 * const connection = new FramedConnection(socket);
 * connection.attach({ control: (message) => console.log(message.type), closed: () => {} });
 * connection.send({ type: 'hello' });
 */
export class FramedConnection {
  private handlers: ConnectionHandlers | undefined;
  private readonly early: Record<string, unknown>[] = [];
  private closedWith: { error: Error | undefined } | undefined;
  private readonly reader: FrameReader;

  /** `pulled`: the socket was made with `onread` from `dialPulling` and reads straight into the frame destinations. */
  constructor(
    readonly socket: net.Socket,
    options: { pulled?: boolean } = {},
  ) {
    socket.setNoDelay(true);
    this.reader = new FrameReader({
      destination: (header) => {
        if (!this.handlers?.destination) throw new CollectiveError('COLLECTIVE_PROTOCOL', 'unexpected data frame');
        return this.handlers.destination(header);
      },
      data: (header, payload) => this.handlers?.data?.(header, payload),
      control: (message) => {
        if (this.handlers) this.handlers.control(message);
        else this.early.push(message);
      },
    });
    if (!options.pulled) socket.on('data', (chunk: Buffer) => this.guard(() => this.reader.push(chunk)));
    socket.on('error', (error) => this.close(error, { destroy: true }));
    socket.on('close', () => this.close(new Error('connection closed'), { destroy: false }));
  }

  /**
   * Connect to `endpoint` with a socket that reads straight into each frame's destination (the caller's buffer or
   * the reduction scratch): no copy in JavaScript and no buffer allocated per read, which matters at GB/s on two
   * cores. Node offers this (`onread`) only on sockets it dials, which is why the ring's data links are dialled by
   * the receiving rank.
   */
  static dialPulling(endpoint: Endpoint): Promise<FramedConnection> {
    // `onread` must be given to the Socket constructor (socket.connect ignores it); the socket reads only after
    // connecting, by which time `connection` exists.
    let connection: FramedConnection | undefined;
    // @types/node declares `onread` for net.connect only, but the Socket constructor is where Node reads it.
    const socket = new net.Socket({
      onread: {
        buffer: () => (connection as FramedConnection).reader.nextBuffer(),
        callback: (count: number) => {
          (connection as FramedConnection).guard(() => (connection as FramedConnection).reader.advance(count));
          return true;
        },
      },
    } as net.SocketConstructorOpts);
    const created = new FramedConnection(socket, { pulled: true });
    connection = created;
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(created);
      });
      if ('path' in endpoint) socket.connect({ path: endpoint.path });
      else socket.connect({ port: endpoint.port, host: endpoint.host });
    });
  }

  private guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.close(error instanceof Error ? error : new Error(String(error)), { destroy: true });
    }
  }

  /** Install handlers; control messages that came early are delivered now, in order. */
  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    while (this.early.length > 0 && this.handlers === handlers) handlers.control(this.early.shift() as Record<string, unknown>);
    if (this.closedWith && this.handlers === handlers) handlers.closed(this.closedWith.error);
  }

  /** Stop delivering: control messages queue again until the next `attach`. */
  detach(): void {
    this.handlers = undefined;
  }

  /** Send a control message (a JSON object with a `type`). */
  send(message: Record<string, unknown>): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(encodeControl(message));
  }

  /**
   * Send a data frame whose payload is a view on the caller's memory (not copied). Resolves once the kernel has
   * taken every byte, after which the caller may change that memory again.
   */
  sendData(header: Omit<FrameHeader, 'payloadBytes'>, payload: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed || !this.socket.writable) {
        reject(new CollectiveError('COLLECTIVE_PEER_LOST', 'connection is closed'));
        return;
      }
      this.socket.cork();
      this.socket.write(encodeHeader({ ...header, payloadBytes: payload.length }));
      this.socket.write(payload, (error) => (error ? reject(error) : resolve()));
      this.socket.uncork();
    });
  }

  /** Finish writing what is queued, then close (the peer reads everything sent before). */
  end(): void {
    this.socket.end();
  }

  /** Close at once (a crash, as the peer sees it). */
  destroy(): void {
    this.socket.destroy();
  }

  private close(error: Error | undefined, options: { destroy: boolean }): void {
    if (this.closedWith) return;
    this.closedWith = { error };
    if (options.destroy) this.socket.destroy();
    this.handlers?.closed(error);
  }
}
