import { CollectiveError } from '../errors.ts';

/**
 * Length-prefixed binary frames, the one wire format of the collectives (rendezvous, control messages and bulk data).
 *
 * Every frame is a 16-byte little-endian header followed by `payloadBytes` bytes:
 * ```
 * offset 0  u32 payloadBytes
 * offset 4  u8  kind         1 control (UTF-8 JSON), 2 reduce (floats to combine), 3 copy (floats to store)
 * offset 5  u8  magic        0xC0, so that a stray client is recognised at its first bytes
 * offset 6  u16 step         ring step the data belongs to
 * offset 8  u32 sequence     operation number on the communicator
 * offset 12 u32 offset       element offset of the data within the operation's buffer
 * ```
 * Floats travel as raw little-endian bytes (never JSON), as the architecture requires for tensors.
 */
export const FRAME_HEADER_BYTES = 16;
const MAGIC = 0xc0;

export const FrameKind = { control: 1, reduce: 2, copy: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface FrameHeader {
  kind: FrameKind;
  step: number;
  sequence: number;
  offset: number;
  payloadBytes: number;
}

/** Largest control message accepted; a peer that announces more is not speaking this protocol. */
export const MAX_CONTROL_BYTES = 1024 * 1024;

export function encodeHeader(header: FrameHeader): Buffer {
  const bytes = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  bytes.writeUInt32LE(header.payloadBytes, 0);
  bytes.writeUInt8(header.kind, 4);
  bytes.writeUInt8(MAGIC, 5);
  bytes.writeUInt16LE(header.step, 6);
  bytes.writeUInt32LE(header.sequence, 8);
  bytes.writeUInt32LE(header.offset, 12);
  return bytes;
}

/** A control message as one buffer (header + JSON). */
export function encodeControl(message: object): Buffer {
  const payload = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([encodeHeader({ kind: FrameKind.control, step: 0, sequence: 0, offset: 0, payloadBytes: payload.length }), payload]);
}

/** What a frame reader does with frames. */
export interface FrameSink {
  /** Where the payload of a data frame goes (exactly `header.payloadBytes` long); throw to reject the frame. */
  destination(header: FrameHeader): Uint8Array;
  /** A whole data frame arrived in `payload` (the array `destination` returned). */
  data(header: FrameHeader, payload: Uint8Array): void;
  /** A whole control frame arrived, parsed. */
  control(message: Record<string, unknown>): void;
}

/**
 * Reassembles frames from a byte stream, copying each payload once, straight into the destination its sink chooses
 * (for data: the caller's buffer or the reduction scratch), never into an intermediate buffer.
 *
 * Two ways to feed it: `push(chunk)` with the chunks a socket's `data` event delivers, or, with zero copies, let the
 * socket read straight into `nextBuffer()` and report the byte count with `advance(count)` (Node's `onread` option).
 *
 * @example
 * const reader = new FrameReader(sink);
 * socket.on('data', (chunk) => reader.push(chunk));
 */
export class FrameReader {
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private current: FrameHeader | undefined;
  private payload: Uint8Array | undefined;
  private filled = 0;

  constructor(private readonly sink: FrameSink) {}

  /** Consume one chunk (copied). Throws `COLLECTIVE_PROTOCOL` on bytes that are not frames. */
  push(chunk: Uint8Array): void {
    let position = 0;
    while (position < chunk.length) {
      const target = this.nextBuffer();
      const take = Math.min(target.length, chunk.length - position);
      target.set(chunk.subarray(position, position + take));
      position += take;
      this.advance(take);
    }
  }

  /** Where the next bytes of the stream belong: the rest of the header, or the rest of the payload. Never empty. */
  nextBuffer(): Uint8Array {
    return this.current === undefined ? this.header.subarray(this.filled) : (this.payload as Uint8Array).subarray(this.filled);
  }

  /** `count` bytes were written into the last `nextBuffer()`. Throws `COLLECTIVE_PROTOCOL` on bytes that are not frames. */
  advance(count: number): void {
    this.filled += count;
    if (this.current === undefined) {
      if (this.filled < FRAME_HEADER_BYTES) return;
      this.filled = 0;
      this.startFrame(decodeHeader(this.header));
    } else if (this.filled === (this.payload as Uint8Array).length) {
      this.finishFrame();
    }
  }

  private startFrame(header: FrameHeader): void {
    if (header.kind === FrameKind.control) {
      if (header.payloadBytes > MAX_CONTROL_BYTES) {
        throw new CollectiveError('COLLECTIVE_PROTOCOL', `control frame of ${header.payloadBytes} bytes exceeds ${MAX_CONTROL_BYTES}`);
      }
      this.payload = Buffer.allocUnsafe(header.payloadBytes);
    } else {
      this.payload = this.sink.destination(header);
      if (this.payload.length !== header.payloadBytes) {
        throw new CollectiveError('COLLECTIVE_PROTOCOL', `frame destination holds ${this.payload.length} bytes, frame has ${header.payloadBytes}`);
      }
    }
    this.current = header;
    this.filled = 0;
    if (header.payloadBytes === 0) this.finishFrame();
  }

  private finishFrame(): void {
    const header = this.current as FrameHeader;
    const payload = this.payload as Uint8Array;
    this.current = undefined;
    this.payload = undefined;
    this.filled = 0;
    if (header.kind !== FrameKind.control) {
      this.sink.data(header, payload);
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
    } catch (error) {
      throw new CollectiveError('COLLECTIVE_PROTOCOL', 'control frame is not valid JSON', { cause: error });
    }
    if (typeof message !== 'object' || message === null || typeof (message as { type?: unknown }).type !== 'string') {
      throw new CollectiveError('COLLECTIVE_PROTOCOL', 'control frame has no "type"');
    }
    this.sink.control(message as Record<string, unknown>);
  }
}

function decodeHeader(bytes: Buffer): FrameHeader {
  const kind = bytes.readUInt8(4);
  if (bytes.readUInt8(5) !== MAGIC || (kind !== FrameKind.control && kind !== FrameKind.reduce && kind !== FrameKind.copy)) {
    throw new CollectiveError('COLLECTIVE_PROTOCOL', 'bytes received are not posttrain collective frames');
  }
  return {
    kind,
    payloadBytes: bytes.readUInt32LE(0),
    step: bytes.readUInt16LE(6),
    sequence: bytes.readUInt32LE(8),
    offset: bytes.readUInt32LE(12),
  };
}
