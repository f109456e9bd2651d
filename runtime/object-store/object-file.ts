import { closeSync, openSync, readSync, writevSync } from 'node:fs';
import { TYPED_ARRAY_KINDS, decodeValue, type EncodedValue, type TypedArray, type ValueHooks } from '../value-codec.ts';

/**
 * One stored object is one file: a small header, the value's JSON skeleton, then each typed array's raw bytes at
 * a 64-byte-aligned offset. On one node these files live in `/dev/shm` (memory, shared by every process), so
 * `get` is one `read` straight into the new typed array's memory: one copy, no parsing of the payload.
 *
 *   "PTO1" | u32 json bytes | u32 buffer count | u32 reserved | f64 byte length per buffer | JSON | pad | buffers
 */
const MAGIC = 0x314f5450; // "PTO1" little-endian
const FIXED = 16;
const FIRST_READ = 64 * 1024;

function align64(value: number): number {
  return Math.ceil(value / 64) * 64;
}

/** Bytes the file for `encoded` takes. */
export function objectFileBytes(encoded: EncodedValue): number {
  let total = align64(FIXED + 8 * encoded.buffers.length + Buffer.byteLength(encoded.json));
  for (const buffer of encoded.buffers) total += align64(buffer.byteLength);
  return total;
}

/** Write the object; throws the fs error (e.g. ENOSPC when /dev/shm is full, which the caller turns into a spill). */
export function writeObjectFile(path: string, encoded: EncodedValue): number {
  const jsonBytes = Buffer.byteLength(encoded.json);
  const headerEnd = FIXED + 8 * encoded.buffers.length + jsonBytes;
  const header = Buffer.alloc(align64(headerEnd));
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(jsonBytes, 4);
  header.writeUInt32LE(encoded.buffers.length, 8);
  encoded.buffers.forEach((buffer, index) => header.writeDoubleLE(buffer.byteLength, FIXED + 8 * index));
  header.write(encoded.json, FIXED + 8 * encoded.buffers.length, 'utf8');
  const chunks: Uint8Array[] = [header];
  let total = header.length;
  for (const buffer of encoded.buffers) {
    chunks.push(buffer);
    const pad = align64(buffer.byteLength) - buffer.byteLength;
    if (pad > 0) chunks.push(new Uint8Array(pad));
    total += buffer.byteLength + pad;
  }
  const fd = openSync(path, 'wx');
  try {
    let written = writevSync(fd, chunks);
    if (written < total) {
      // A short write on a regular file means the medium is full; report it like the kernel would.
      const error = new Error(`short write to ${path}: ${written} of ${total} bytes`) as NodeJS.ErrnoException;
      error.code = 'ENOSPC';
      throw error;
    }
    written = total;
    return written;
  } finally {
    closeSync(fd);
  }
}

/**
 * Read an object back. Each typed array is allocated at its final size and filled by one `read` from the file;
 * `into` (for a value that is a single typed array) reuses the caller's array instead, which is how a rollout
 * worker reloads weights every version without allocating.
 */
export function readObjectFile(path: string, hooks: ValueHooks, into?: TypedArray): unknown {
  const fd = openSync(path, 'r');
  try {
    const first = Buffer.allocUnsafe(FIRST_READ);
    const firstBytes = readSync(fd, first, 0, FIRST_READ, 0);
    if (firstBytes < FIXED || first.readUInt32LE(0) !== MAGIC) throw new Error(`${path} is not an object file`);
    const jsonBytes = first.readUInt32LE(4);
    const count = first.readUInt32LE(8);
    const headerEnd = FIXED + 8 * count + jsonBytes;
    let head = first;
    if (headerEnd > firstBytes) {
      head = Buffer.allocUnsafe(headerEnd);
      readFully(fd, head, 0, headerEnd, 0);
    }
    const lengths: number[] = [];
    const offsets: number[] = [];
    let offset = align64(headerEnd);
    for (let index = 0; index < count; index++) {
      const length = head.readDoubleLE(FIXED + 8 * index);
      lengths.push(length);
      offsets.push(offset);
      offset += align64(length);
    }
    const json = head.toString('utf8', FIXED + 8 * count, headerEnd);
    const provide = (index: number, kind: string): unknown => {
      const constructor = TYPED_ARRAY_KINDS[kind];
      if (!constructor) throw new Error(`unknown typed array kind '${kind}' in ${path}`);
      const length = lengths[index] as number;
      const start = offsets[index] as number;
      // A fresh allocation is not zero-filled first: every byte is overwritten by the read (or it throws).
      const fresh = () => {
        const memory = Buffer.allocUnsafeSlow(length);
        return kind === 'ab' ? memory : new constructor(memory.buffer as ArrayBuffer, 0, length / constructor.BYTES_PER_ELEMENT);
      };
      const target = into !== undefined && count === 1 && into.byteLength === length && constructor === into.constructor ? into : fresh();
      const bytes = new Uint8Array(target.buffer, target.byteOffset, length);
      if (start + length <= firstBytes && head === first) bytes.set(first.subarray(start, start + length));
      else readFully(fd, bytes, 0, length, start);
      if (kind !== 'ab') return target;
      return target.byteOffset === 0 && target.buffer.byteLength === length ? target.buffer : target.slice().buffer;
    };
    return decodeValue(json, provide, hooks);
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, target: Uint8Array, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, target, offset + done, length - done, position + done);
    if (n === 0) throw new Error(`object file ended early (${done} of ${length} bytes)`);
    done += n;
  }
}
