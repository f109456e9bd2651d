/**
 * The safetensors format (https://huggingface.co/docs/safetensors), read and written by hand: no maintained npm
 * package reads it, and the format is small.
 *
 *   [8 bytes: header length N, little-endian u64][N bytes: JSON header][tensor bytes]
 *   header: { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, "__metadata__": {..} }
 *
 * Offsets are relative to the first byte after the header; tensors are row-major, little-endian. We read F32,
 * F16 and BF16 into float32 (BF16 and F16 widen exactly) and write F32, F16 or BF16 (BF16 rounds to nearest
 * even, as torch's `.to(torch.bfloat16)` does). Sharded checkpoints (`model.safetensors.index.json` with a
 * `weight_map`) are read as one table.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PosttrainError } from '../../runtime/errors.ts';

/** The dtypes posttrain reads and writes (names as in the safetensors header). */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** One tensor, widened to float32. */
export interface LoadedTensor {
  shape: number[];
  /** The dtype it was stored as. */
  dtype: SafetensorsDtype;
  /** Row-major values. */
  data: Float32Array;
}

/** The header entry of one tensor. */
interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Single file `model.safetensors`, or the shards listed by `model.safetensors.index.json`. */
export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/**
 * Reads every tensor of a model folder (single file or shards), widened to float32.
 *
 * @example
 * const tensors = readSafetensorsFolder('../shared/fixtures/hf/qwen2');
 * tensors.get('model.embed_tokens.weight')!.shape; // [320, 56]
 */
export function readSafetensorsFolder(directory: string): Map<string, LoadedTensor> {
  const single = join(directory, SINGLE_FILE);
  if (existsSync(single)) return readSafetensorsFile(single);
  const indexPath = join(directory, INDEX_FILE);
  if (!existsSync(indexPath)) {
    throw new PosttrainError('MODEL_WEIGHTS_MISSING', `${directory} has neither ${SINGLE_FILE} nor ${INDEX_FILE}`, { path: directory });
  }
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (error) {
    throw new PosttrainError('MODEL_WEIGHTS_INVALID', `${indexPath} is not valid JSON: ${(error as Error).message}`, { path: indexPath });
  }
  if (!index.weight_map || typeof index.weight_map !== 'object') {
    throw new PosttrainError('MODEL_WEIGHTS_INVALID', `${indexPath} has no "weight_map" object`, { path: `${indexPath}:weight_map` });
  }
  const tensors = new Map<string, LoadedTensor>();
  for (const shard of new Set(Object.values(index.weight_map))) {
    for (const [name, tensor] of readSafetensorsFile(join(directory, shard))) tensors.set(name, tensor);
  }
  for (const name of Object.keys(index.weight_map)) {
    if (!tensors.has(name)) {
      throw new PosttrainError('MODEL_WEIGHTS_INVALID', `${indexPath} maps ${name} to ${index.weight_map[name]}, which does not contain it`, { path: name });
    }
  }
  return tensors;
}

/** Reads one `.safetensors` file. */
export function readSafetensorsFile(path: string): Map<string, LoadedTensor> {
  if (!existsSync(path)) throw new PosttrainError('MODEL_WEIGHTS_MISSING', `${path} does not exist`, { path });
  const bytes = readFileSync(path);
  const { header, dataStart } = parseHeader(bytes, path);
  const tensors = new Map<string, LoadedTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry as HeaderEntry;
    if (!(dtype in BYTES_PER_ELEMENT)) {
      throw new PosttrainError('MODEL_DTYPE_UNSUPPORTED', `${path}: tensor ${name} is stored as ${dtype}; supported: F32, F16, BF16`, { path: name });
    }
    const count = shape.reduce((product, size) => product * size, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * BYTES_PER_ELEMENT[dtype as SafetensorsDtype] || dataStart + end > bytes.length) {
      throw new PosttrainError('MODEL_WEIGHTS_INVALID', `${path}: tensor ${name} of shape [${shape}] has byte range [${begin}, ${end}) that does not fit its shape or the file`, { path: name });
    }
    tensors.set(name, { shape: [...shape], dtype: dtype as SafetensorsDtype, data: decode(bytes, dataStart + begin, count, dtype as SafetensorsDtype) });
  }
  return tensors;
}

/** The header alone (names, dtypes, shapes, metadata), without reading tensor bytes into floats. */
export function readSafetensorsHeader(path: string): { tensors: Record<string, { dtype: string; shape: number[] }>; metadata: Record<string, string> } {
  const { header } = parseHeader(readFileSync(path), path);
  const tensors: Record<string, { dtype: string; shape: number[] }> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name !== '__metadata__') tensors[name] = { dtype: (entry as HeaderEntry).dtype, shape: (entry as HeaderEntry).shape };
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string> | undefined) ?? {} };
}

/**
 * Writes tensors (in the order given, as transformers does: sorted names) to one file.
 *
 * @example
 * writeSafetensorsFile('out/model.safetensors', [['w', { shape: [2], data: new Float32Array([1, 2]) }]], 'BF16', { format: 'pt' });
 */
export function writeSafetensorsFile(
  path: string,
  tensors: Iterable<[string, { shape: number[]; data: Float32Array }]>,
  dtype: SafetensorsDtype = 'F32',
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const entries = [...tensors];
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, tensor] of entries) {
    const size = tensor.data.length * BYTES_PER_ELEMENT[dtype];
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let headerText = JSON.stringify(header);
  // The data section starts 8-aligned, padded with spaces, as the reference implementation writes it.
  headerText += ' '.repeat((8 - ((8 + Buffer.byteLength(headerText)) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let position = 8 + headerBytes.length;
  for (const [, tensor] of entries) position = encode(tensor.data, out, position, dtype);
  writeFileSync(path, out);
}

function parseHeader(bytes: Buffer, path: string): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) throw new PosttrainError('MODEL_WEIGHTS_INVALID', `${path} is ${bytes.length} bytes: too short for a safetensors file`, { path });
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > bytes.length - 8) {
    throw new PosttrainError('MODEL_WEIGHTS_INVALID', `${path}: header length ${headerLength} exceeds the file (${bytes.length} bytes); truncated or not safetensors`, { path });
  }
  try {
    return { header: JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)), dataStart: 8 + headerLength };
  } catch (error) {
    throw new PosttrainError('MODEL_WEIGHTS_INVALID', `${path}: header is not valid JSON (${(error as Error).message})`, { path });
  }
}

function decode(bytes: Buffer, start: number, count: number, dtype: SafetensorsDtype): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + 4 * count));
    return out;
  }
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) {
    const half = bytes[start + 2 * i]! | (bytes[start + 2 * i + 1]! << 8);
    bits[i] = dtype === 'BF16' ? half << 16 : halfToFloatBits(half);
  }
  return out;
}

function encode(data: Float32Array, out: Buffer, position: number, dtype: SafetensorsDtype): number {
  if (dtype === 'F32') {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    return position + data.byteLength;
  }
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) {
    const half = dtype === 'BF16' ? floatBitsToBfloat16(bits[i]!) : floatToHalf(data[i]!);
    out[position++] = half & 0xff;
    out[position++] = half >>> 8;
  }
  return position;
}

/** float32 bits -> bfloat16 bits, rounding to nearest even (NaN stays a quiet NaN). */
function floatBitsToBfloat16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** IEEE half bits -> float32 bits (exact). */
function halfToFloatBits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) return sign | 0x7f800000 | (mantissa << 13);
  if (exponent !== 0) return sign | ((exponent + 112) << 23) | (mantissa << 13);
  if (mantissa === 0) return sign;
  // Subnormal half: normalise.
  let e = 113;
  let m = mantissa;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return sign | (e << 23) | ((m & 0x3ff) << 13);
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** float32 -> IEEE half bits, rounding to nearest even. */
function floatToHalf(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const rounded = (mantissa >>> shift) + (((mantissa >>> (shift - 1)) & 1) & (((mantissa & ((1 << (shift - 1)) - 1)) !== 0 ? 1 : 0) | ((mantissa >>> shift) & 1)));
    return sign | rounded;
  }
  const rounded = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  return sign | (rounded + (remainder > 0x1000 || (remainder === 0x1000 && (rounded & 1)) ? 1 : 0));
}
