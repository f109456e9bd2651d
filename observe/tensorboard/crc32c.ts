import { createRequire } from 'node:module';

/**
 * CRC32C (Castagnoli) through SheetJS's `crc-32` package (pure JS, table-driven, no dependencies), plus the
 * "masked" form that TFRecord files store. `crc-32` ships its CRC32C as the untyped subpath `crc-32/crc32c`, so it
 * is loaded with `require` and given its one-function type here.
 */
const crc32cModule = createRequire(import.meta.url)('crc-32/crc32c') as {
  buf(data: Uint8Array, seed?: number): number;
};

/**
 * CRC32C of `data` as an unsigned 32-bit integer.
 *
 * @example
 * crc32c(Buffer.from('123456789')); // 0xe3069283, the standard check value
 */
export function crc32c(data: Uint8Array): number {
  return crc32cModule.buf(data) >>> 0;
}

/**
 * TFRecord's masked CRC: rotate right by 15 bits and add a constant, so that a CRC computed over data that itself
 * contains CRCs stays well distributed (tensorflow/core/lib/hash/crc32c.h, `Mask`).
 *
 * @example
 * maskedCrc32c(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]));
 */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}
