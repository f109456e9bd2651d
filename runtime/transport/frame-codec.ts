import { MAX_FRAME_BYTES, type Frame } from './transport.ts';
import { TransportError } from '../runtime-errors.ts';

/**
 * Binary framing for byte-stream transports (Unix sockets, TCP):
 *
 *   u32 length of what follows | u8 kind | u8 flags | u16 buffer count | u32 id | u32 route bytes | u32 body bytes
 *   | u32 byte length per buffer | route (UTF-8) | body (UTF-8) | pad to 8 | buffer 0 | pad to 8 | buffer 1 ...
 *
 * Little-endian. Buffers start at 8-byte-aligned offsets from the frame's first byte, so a receiver that has the
 * frame in its own allocation can view a Float64Array in place without copying.
 */
const FIXED_HEADER = 20;

export function align8(value: number): number {
  return (value + 7) & ~7;
}

const PADDING = new Uint8Array(8);

/**
 * Encode a frame as a list of chunks to write: one header chunk (with route and body) followed by the caller's
 * buffers, untouched, and padding. Nothing large is copied.
 */
export function encodeFrame(frame: Frame): Uint8Array[] {
  const routeBytes = Buffer.byteLength(frame.route);
  const bodyBytes = Buffer.byteLength(frame.body);
  const count = frame.buffers.length;
  if (count > 0xffff) throw new TransportError('FRAME_INVALID', `a frame carries at most 65535 buffers, got ${count}`);
  const textEnd = FIXED_HEADER + 4 * count + routeBytes + bodyBytes;
  const headerLength = count === 0 ? textEnd : align8(textEnd);
  let total = headerLength;
  for (let index = 0; index < count; index++) {
    total += index === count - 1 ? (frame.buffers[index] as Uint8Array).byteLength : align8((frame.buffers[index] as Uint8Array).byteLength);
  }
  if (total - 4 > MAX_FRAME_BYTES) throw new TransportError('FRAME_TOO_LARGE', `frame of ${total} bytes exceeds ${MAX_FRAME_BYTES}`);
  const header = Buffer.allocUnsafe(headerLength);
  header.writeUInt32LE(total - 4, 0);
  header.writeUInt8(frame.kind, 4);
  header.writeUInt8(0, 5);
  header.writeUInt16LE(count, 6);
  header.writeUInt32LE(frame.id >>> 0, 8);
  header.writeUInt32LE(routeBytes, 12);
  header.writeUInt32LE(bodyBytes, 16);
  let offset = FIXED_HEADER;
  for (const buffer of frame.buffers) {
    header.writeUInt32LE(buffer.byteLength, offset);
    offset += 4;
  }
  offset += header.write(frame.route, offset, 'utf8');
  offset += header.write(frame.body, offset, 'utf8');
  header.fill(0, offset, headerLength);
  const chunks: Uint8Array[] = [header];
  for (let index = 0; index < count; index++) {
    const buffer = frame.buffers[index] as Uint8Array;
    chunks.push(buffer);
    const pad = align8(buffer.byteLength) - buffer.byteLength;
    if (pad > 0 && index < count - 1) chunks.push(PADDING.subarray(0, pad));
  }
  return chunks;
}

/**
 * Incremental decoder: feed it the chunks a socket delivers, get whole frames back. Holds partial frames without
 * copying until a frame is complete; a frame that spans chunks is assembled once into its own aligned allocation.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number = MAX_FRAME_BYTES) {}

  /** Returns the frames completed by this chunk; throws `TransportError` on a malformed or oversized frame. */
  push(chunk: Buffer, deliver: (frame: Frame) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      const first = this.chunks[0] as Buffer;
      const length = first.length >= 4 ? first.readUInt32LE(0) : this.peekLength();
      if (length > this.maxFrameBytes) {
        throw new TransportError('FRAME_TOO_LARGE', `peer sent a frame of ${length} bytes (limit ${this.maxFrameBytes})`);
      }
      if (length < FIXED_HEADER - 4) throw new TransportError('FRAME_INVALID', `peer sent a frame of ${length} bytes, shorter than a header`);
      const total = length + 4;
      if (this.buffered < total) return;
      let frameBytes: Buffer;
      if (first.length >= total) {
        frameBytes = first.subarray(0, total);
        if (first.length === total) this.chunks.shift();
        else this.chunks[0] = first.subarray(total);
      } else {
        frameBytes = this.take(total);
      }
      this.buffered -= total;
      deliver(decodeFrame(frameBytes));
    }
  }

  private peekLength(): number {
    const head = Buffer.alloc(4);
    let filled = 0;
    for (const chunk of this.chunks) {
      const n = Math.min(4 - filled, chunk.length);
      chunk.copy(head, filled, 0, n);
      filled += n;
      if (filled === 4) break;
    }
    return head.readUInt32LE(0);
  }

  private take(total: number): Buffer {
    const frame = Buffer.allocUnsafeSlow(total);
    let filled = 0;
    while (filled < total) {
      const chunk = this.chunks[0] as Buffer;
      const n = Math.min(total - filled, chunk.length);
      chunk.copy(frame, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    return frame;
  }
}

/** Decode one complete frame (including its length prefix). Buffers are views into `bytes`. */
export function decodeFrame(bytes: Buffer): Frame {
  const kind = bytes.readUInt8(4);
  const count = bytes.readUInt16LE(6);
  const id = bytes.readUInt32LE(8);
  const routeBytes = bytes.readUInt32LE(12);
  const bodyBytes = bytes.readUInt32LE(16);
  let offset = FIXED_HEADER + 4 * count;
  if (offset + routeBytes + bodyBytes > bytes.length) throw new TransportError('FRAME_INVALID', 'frame header points past its end');
  const lengths: number[] = [];
  for (let index = 0; index < count; index++) lengths.push(bytes.readUInt32LE(FIXED_HEADER + 4 * index));
  const route = bytes.toString('utf8', offset, offset + routeBytes);
  offset += routeBytes;
  const body = bytes.toString('utf8', offset, offset + bodyBytes);
  offset += bodyBytes;
  const buffers: Uint8Array[] = [];
  if (count > 0) offset = align8(offset);
  for (let index = 0; index < count; index++) {
    const length = lengths[index] as number;
    if (offset + length > bytes.length) throw new TransportError('FRAME_INVALID', 'frame buffer points past its end');
    buffers.push(new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length));
    offset = align8(offset + length);
  }
  return { kind, id, route, body, buffers };
}
