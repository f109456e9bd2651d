import { TransportError } from '../runtime-errors.ts';
import { encodeFrame } from './frame-codec.ts';
import type { Channel, Frame } from './transport.ts';

/**
 * The part of the channel contract (transport.ts) that every medium keeps the same way: frames that arrive
 * before a receiver is set are held for it, a send after close throws, and everything sent in one tick is queued
 * and handed to the medium by one `flush` on the next tick. The socket, gRPC and in-memory channels differ only in
 * how they queue a frame, how they write the queue, and how they close; they implement those.
 *
 * @example
 * class EchoChannel extends BatchingChannel {
 *   private queued: Frame[] = [];
 *   get bufferedBytes() { return 0; }
 *   protected queue(frame: Frame) { this.queued.push(frame); }
 *   protected flush() { for (const frame of this.queued.splice(0)) this.deliver(frame); }
 *   onClose() {}
 *   close() { this.closedFlag = true; }
 * }
 */
export abstract class BatchingChannel implements Channel {
  protected closedFlag = false;
  private handler: ((frame: Frame) => void) | undefined;
  private held: Frame[] = [];
  private flushScheduled = false;

  abstract readonly bufferedBytes: number;
  abstract onClose(handler: (error?: Error) => void): void;
  abstract close(): void;
  /** Keeps `frame` until the next flush; the caller may reuse its buffers as soon as this returns. */
  protected abstract queue(frame: Frame): void;
  /** Hands everything queued to the medium (also called directly, e.g. by `close`). */
  protected abstract flush(): void;

  get closed(): boolean {
    return this.closedFlag;
  }

  send(frame: Frame): void {
    if (this.closedFlag) throw new TransportError('CHANNEL_CLOSED', `cannot send '${frame.route}': the channel is closed`);
    this.queue(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  onFrame(handler: (frame: Frame) => void): void {
    this.handler = handler;
    const held = this.held;
    this.held = [];
    for (const frame of held) handler(frame);
  }

  /** Passes a received frame to the receiver, or holds it until one is set. */
  protected deliver(frame: Frame): void {
    if (this.handler) this.handler(frame);
    else this.held.push(frame);
  }
}

/**
 * What a byte-stream channel (socket, gRPC) sent this tick, as the chunks of frame-codec.ts's wire format: each
 * header is new, the caller's buffers are copied so that it may reuse them as soon as `send` returns.
 *
 * @example
 * queued.push(frame);               // in `queue`
 * for (const chunk of queued.take()) socket.write(chunk); // in `flush`
 */
export class ChunkQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes queued and not yet taken. */
  bytes = 0;

  push(frame: Frame): void {
    const chunks = encodeFrame(frame);
    for (let index = 0; index < chunks.length; index++) {
      const chunk = chunks[index] as Uint8Array;
      this.chunks.push(index === 0 ? chunk : Buffer.from(chunk));
      this.bytes += chunk.byteLength;
    }
  }

  /** Everything queued, in send order; the queue is empty after. */
  take(): Uint8Array[] {
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return chunks;
  }
}
