import { PosttrainError } from '../../runtime/errors.ts';
import { maskedCrc32c } from './crc32c.ts';

/**
 * TFRecord framing, the container of TensorBoard event files:
 *
 * ```
 * uint64 length            (little endian)
 * uint32 masked_crc32c(length bytes)
 * byte   data[length]
 * uint32 masked_crc32c(data)
 * ```
 */
const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;

/**
 * Frame one record.
 *
 * @example
 * fs.appendFileSync(path, frameRecord(eventBytes));
 */
export function frameRecord(data: Uint8Array): Buffer {
  const record = Buffer.alloc(HEADER_BYTES + data.length + FOOTER_BYTES);
  record.writeBigUInt64LE(BigInt(data.length), 0);
  record.writeUInt32LE(maskedCrc32c(record.subarray(0, 8)), 8);
  record.set(data, HEADER_BYTES);
  record.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.length);
  return record;
}

/**
 * Split a file's bytes into records, checking both CRCs of each. A truncated last record (a writer that died
 * mid-write, or one still writing) ends the list without error, as TensorBoard's reader treats it; a CRC mismatch
 * throws, naming the record's byte offset.
 *
 * @example
 * for (const data of readRecords(fs.readFileSync(path), path)) Event.decode(data);
 */
export function readRecords(bytes: Buffer, source = 'record file'): Buffer[] {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= bytes.length) {
    const lengthBytes = bytes.subarray(offset, offset + 8);
    if (bytes.readUInt32LE(offset + 8) !== maskedCrc32c(lengthBytes)) {
      throw corrupt(source, offset, 'length');
    }
    const length = Number(bytes.readBigUInt64LE(offset));
    const end = offset + HEADER_BYTES + length + FOOTER_BYTES;
    if (end > bytes.length) break;
    const data = bytes.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
    if (bytes.readUInt32LE(offset + HEADER_BYTES + length) !== maskedCrc32c(data)) {
      throw corrupt(source, offset, 'data');
    }
    records.push(data);
    offset = end;
  }
  return records;
}

function corrupt(source: string, offset: number, part: 'length' | 'data'): PosttrainError {
  return new PosttrainError(
    'RECORD_CORRUPT',
    `${source}: CRC32C mismatch in the ${part} of the record at byte ${offset}; the file is corrupt from there on`,
    { path: source },
  );
}
