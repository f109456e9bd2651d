import { TransportError } from '../runtime-errors.ts';
import { BatchingChannel } from './batching-channel.ts';
import type { Channel, Frame, Listener, Transport } from './transport.ts';

/**
 * An in-process transport (`memory:name`): two channel ends joined by queues, delivering batched per tick like the
 * socket channel. It exists so that the conformance suite pins the contract independently of sockets, and for
 * tests of the RPC layer without processes. Buffers are copied on send, as a real medium would.
 *
 * @example
 * const transport = new MemoryTransport();
 * await transport.listen('memory:head', (channel) => channel.onFrame((frame) => channel.send(frame)));
 * const channel = await transport.connect('memory:head');
 */
export class MemoryTransport implements Transport {
  readonly scheme = 'memory';
  private static readonly listeners = new Map<string, (channel: Channel) => void>();

  async listen(address: string, onChannel: (channel: Channel) => void): Promise<Listener> {
    if (MemoryTransport.listeners.has(address)) throw new TransportError('CONNECT_FAILED', `${address} is already listening`, address);
    MemoryTransport.listeners.set(address, onChannel);
    return {
      address,
      close: async () => {
        MemoryTransport.listeners.delete(address);
      },
    };
  }

  async connect(address: string): Promise<Channel> {
    const onChannel = MemoryTransport.listeners.get(address);
    if (!onChannel) throw new TransportError('CONNECT_FAILED', `nothing listens on ${address}`, address);
    const client = new MemoryChannel();
    const server = new MemoryChannel();
    client.peer = server;
    server.peer = client;
    onChannel(server);
    return client;
  }
}

class MemoryChannel extends BatchingChannel {
  peer: MemoryChannel | undefined;
  private outbox: Frame[] = [];
  private outboxBytes = 0;
  private closeHandlers: ((error?: Error) => void)[] = [];
  private finished = false;

  get bufferedBytes(): number {
    return this.outboxBytes;
  }

  protected queue(frame: Frame): void {
    const buffers = frame.buffers.map((buffer) => new Uint8Array(buffer));
    this.outbox.push({ kind: frame.kind, id: frame.id, route: frame.route, body: frame.body, buffers });
    for (const buffer of buffers) this.outboxBytes += buffer.byteLength;
  }

  onClose(handler: (error?: Error) => void): void {
    if (this.finished) handler();
    else this.closeHandlers.push(handler);
  }

  close(): void {
    if (this.closedFlag) return;
    this.flush();
    this.closedFlag = true;
    const peer = this.peer;
    process.nextTick(() => {
      this.finish();
      peer?.remoteClosed();
    });
  }

  private remoteClosed(): void {
    this.closedFlag = true;
    this.finish();
  }

  private receive(frames: Frame[]): void {
    for (const frame of frames) this.deliver(frame);
  }

  protected flush(): void {
    const frames = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    if (frames.length > 0 && this.peer && !this.peer.finished) this.peer.receive(frames);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    for (const handler of handlers) handler();
  }
}
