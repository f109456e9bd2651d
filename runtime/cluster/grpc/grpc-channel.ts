import { status as GrpcStatus, type ClientDuplexStream, type ServerDuplexStream } from '@grpc/grpc-js';
import { TransportError } from '../../runtime-errors.ts';
import { BatchingChannel, ChunkQueue } from '../../transport/batching-channel.ts';
import { FrameDecoder } from '../../transport/frame-codec.ts';
import type { Frame } from '../../transport/transport.ts';
import { statusName } from '../cluster-errors.ts';

/** Sizing of the byte stream a channel rides on. */
export interface GrpcChannelLimits {
  /** Largest gRPC message either side sends or accepts; frames larger than this are cut into several messages. */
  messageBytes: number;
  /** Largest frame accepted from the peer (its declared length is checked before anything is buffered). */
  maxFrameBytes: number;
}

type Stream = ClientDuplexStream<Buffer, Buffer> | ServerDuplexStream<Buffer, Buffer>;

/** Small chunks sent in one tick are copied into one message; anything this large goes out as it is (in pieces). */
const COPY_LIMIT = 64 * 1024;

/**
 * A transport channel over one bidirectional gRPC stream. The stream is treated as a byte stream: the frames of
 * `frame-codec.ts` are written into it (many small frames of a tick coalesced into one gRPC message, a large frame
 * cut into messages of at most `messageBytes`) and read back with the same incremental decoder the socket channel
 * uses, so both channels share one wire format and its checks. A malformed or oversized frame from the peer ends
 * the stream with INVALID_ARGUMENT / RESOURCE_EXHAUSTED (never an exception in the process).
 *
 * @example
 * const channel = new GrpcChannel(call, 'client', { messageBytes: 4 << 20, maxFrameBytes: 1 << 30 }, 'head at grpc:10.0.0.1:6380');
 */
export class GrpcChannel extends BatchingChannel {
  private closeHandlers: ((error?: Error) => void)[] = [];
  private readonly queued = new ChunkQueue();
  private inFlightBytes = 0;
  private finished = false;
  private closeError: Error | undefined;
  private readonly decoder: FrameDecoder;

  constructor(
    private readonly stream: Stream,
    private readonly side: 'client' | 'server',
    private readonly limits: GrpcChannelLimits,
    /** Who is on the other end, for error messages. */
    readonly peer: string,
  ) {
    super();
    this.decoder = new FrameDecoder(limits.maxFrameBytes);
    stream.on('data', (chunk: Buffer) => {
      if (this.finished) return;
      try {
        this.decoder.push(chunk, (frame) => this.deliver(frame));
      } catch (error) {
        this.reject(error as TransportError);
      }
    });
    stream.on('end', () => {
      // The peer half-closed: the channel is over. A server answers by completing the call with status OK.
      if (this.side === 'server' && !this.closedFlag) this.close();
      this.finish();
    });
    stream.on('error', (error: Error & { code?: number; details?: string }) => {
      const code = typeof error.code === 'number' ? error.code : GrpcStatus.UNKNOWN;
      this.finish(new TransportError('CHANNEL_CLOSED', `gRPC stream with ${peer} ended: ${statusName(code)}: ${error.details ?? error.message}`, peer));
    });
    stream.on('close', () => this.finish(this.closedFlag ? undefined : new TransportError('CHANNEL_CLOSED', `gRPC stream with ${peer} closed`, peer)));
    if (side === 'server') {
      stream.on('cancelled', () => this.finish(new TransportError('CHANNEL_CLOSED', `${peer} went away (call cancelled)`, peer)));
      stream.on('finish', () => this.finish());
    }
  }

  get bufferedBytes(): number {
    return this.queued.bytes + this.inFlightBytes;
  }

  protected queue(frame: Frame): void {
    this.queued.push(frame);
  }

  onClose(handler: (error?: Error) => void): void {
    if (this.finished) handler(this.closeError);
    else this.closeHandlers.push(handler);
  }

  close(): void {
    if (this.closedFlag) return;
    this.flush();
    this.closedFlag = true;
    this.stream.end();
    // A client's channel is over once the server completes the call; a peer that never answers is cut off.
    const timer = setTimeout(() => {
      if (this.side === 'client') (this.stream as ClientDuplexStream<Buffer, Buffer>).cancel();
      this.finish();
    }, 2_000);
    timer.unref();
  }

  /** Write what this tick queued: runs of small chunks joined into one message, large chunks cut to message size. */
  protected flush(): void {
    const chunks = this.queued.take();
    if (chunks.length === 0 || this.finished) return;
    const limit = this.limits.messageBytes;
    let run: Uint8Array[] = [];
    let runBytes = 0;
    const writeRun = () => {
      if (runBytes === 0) return;
      this.write(run.length === 1 ? Buffer.from((run[0] as Uint8Array).buffer, (run[0] as Uint8Array).byteOffset, runBytes) : Buffer.concat(run, runBytes));
      run = [];
      runBytes = 0;
    };
    for (const chunk of chunks) {
      if (chunk.byteLength >= COPY_LIMIT) {
        writeRun();
        const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        for (let offset = 0; offset < bytes.length; offset += limit) this.write(bytes.subarray(offset, offset + limit));
      } else {
        if (runBytes + chunk.byteLength > limit) writeRun();
        run.push(chunk);
        runBytes += chunk.byteLength;
      }
    }
    writeRun();
  }

  private write(message: Buffer): void {
    const bytes = message.length;
    this.inFlightBytes += bytes;
    this.stream.write(message, () => {
      this.inFlightBytes -= bytes;
    });
  }

  /** The peer sent something that is not a frame (or too large a one): end the call with a status that says so. */
  private reject(error: TransportError): void {
    const code = error.code === 'FRAME_TOO_LARGE' ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INVALID_ARGUMENT;
    this.closeError = error;
    this.closedFlag = true;
    if (this.side === 'server') this.stream.emit('error', { code, details: error.message });
    else (this.stream as ClientDuplexStream<Buffer, Buffer>).cancel();
    this.finish(error);
  }

  private finish(error?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.closedFlag = true;
    if (this.closeError === undefined) this.closeError = error;
    this.queued.take();
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    for (const handler of handlers) handler(this.closeError);
  }
}
