import { decodeValue, encodeValue, viewBuffer } from '../value-codec.ts';

/*
 * How a control-store record (an actor, a node, a placement group, a job) is written by the persistent stores: the
 * runtime's value encoding, i.e. a JSON skeleton plus raw bytes for typed arrays (an actor's encoded constructor
 * arguments), so that bytes never go through JSON. SQLite keeps the two in two columns; etcd keeps them in one value
 * (`packRecordBytes`).
 */

/**
 * A record as its JSON skeleton plus, when it holds typed arrays, one blob: u32 count, u32 lengths, the bytes.
 *
 * @example
 * const { json, blob } = packRecord(actorRecord); // blob holds the constructor arguments' bytes
 */
export function packRecord(record: unknown): { json: string; blob: Buffer | null } {
  const encoded = encodeValue(record);
  if (encoded.buffers.length === 0) return { json: encoded.json, blob: null };
  const header = Buffer.alloc(4 + 4 * encoded.buffers.length);
  header.writeUInt32LE(encoded.buffers.length, 0);
  encoded.buffers.forEach((buffer, index) => header.writeUInt32LE(buffer.byteLength, 4 + 4 * index));
  return { json: encoded.json, blob: Buffer.concat([header, ...encoded.buffers]) };
}

export function unpackRecord(json: string, blob: Buffer | null): unknown {
  const buffers: Uint8Array[] = [];
  if (blob !== null) {
    const count = blob.readUInt32LE(0);
    let offset = 4 + 4 * count;
    for (let index = 0; index < count; index++) {
      const length = blob.readUInt32LE(4 + 4 * index);
      buffers.push(blob.subarray(offset, offset + length));
      offset += length;
    }
  }
  return decodeValue(json, (index, kind) => viewBuffer(buffers[index] as Uint8Array, kind));
}

/**
 * One record as one byte string: u32 length of the JSON, the JSON (UTF-8), then the blob of `packRecord` if any.
 *
 * @example
 * unpackRecordBytes(packRecordBytes({ nodeId: 'n1' })); // { nodeId: 'n1' }
 */
export function packRecordBytes(record: unknown): Buffer {
  const { json, blob } = packRecord(record);
  const text = Buffer.from(json, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(text.byteLength, 0);
  return Buffer.concat(blob === null ? [length, text] : [length, text, blob]);
}

export function unpackRecordBytes(bytes: Buffer): unknown {
  const length = bytes.readUInt32LE(0);
  const json = bytes.subarray(4, 4 + length).toString('utf8');
  const rest = bytes.subarray(4 + length);
  return unpackRecord(json, rest.byteLength === 0 ? null : rest);
}
