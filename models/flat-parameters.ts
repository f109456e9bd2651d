/**
 * Every parameter of a model lives in ONE Float32Array plus a manifest (name, shape, offset). That buffer is the
 * unit the object store, weight sync and checkpoints move: it crosses processes as raw bytes, and its checksum
 * tags a weight version. Gradients and optimizer moments use the same layout, so data-parallel ranks allreduce
 * one flat gradient buffer.
 */
import { PosttrainError } from '../runtime/errors.ts';

/** One named tensor inside the flat buffer. */
export interface ParameterEntry {
  /** Dotted path, e.g. `blocks.0.attention.qkv.weight`. */
  name: string;
  /** Row-major shape; a Linear weight is (in, out) so that `x @ W` needs no transpose. */
  shape: number[];
  /** First element (not byte) in the flat buffer. */
  offset: number;
  /** Number of elements (product of `shape`). */
  size: number;
}

/** JSON-safe description of a flat buffer's layout; travels next to the raw bytes. */
export interface ParameterManifest {
  /** Total number of float32 elements. */
  size: number;
  entries: ParameterEntry[];
}

/**
 * A flat parameter buffer and its manifest.
 *
 * @example
 * const params = FlatParameters.fromShapes([['weight', [2, 3]], ['bias', [3]]]);
 * params.view('bias').fill(0.5);
 * const copy = FlatParameters.fromManifest(JSON.parse(JSON.stringify(params.manifest)), params.data.slice());
 */
export class FlatParameters {
  readonly manifest: ParameterManifest;
  readonly data: Float32Array;
  private readonly byName: Map<string, ParameterEntry>;

  constructor(manifest: ParameterManifest, data?: Float32Array) {
    validateManifest(manifest);
    if (data && data.length !== manifest.size) {
      throw new PosttrainError('PARAMETERS_SIZE_MISMATCH', `flat buffer has ${data.length} floats, manifest says ${manifest.size}`, { path: 'parameters.data' });
    }
    this.manifest = manifest;
    this.data = data ?? new Float32Array(manifest.size);
    this.byName = new Map(manifest.entries.map((entry) => [entry.name, entry]));
  }

  /** Lays out named shapes back to back in the given order. */
  static fromShapes(shapes: readonly (readonly [string, readonly number[]])[]): FlatParameters {
    let offset = 0;
    const entries = shapes.map(([name, shape]) => {
      const size = shape.reduce((product, dimension) => product * dimension, 1);
      const entry = { name, shape: [...shape], offset, size };
      offset += size;
      return entry;
    });
    return new FlatParameters({ size: offset, entries });
  }

  static fromManifest(manifest: ParameterManifest, data: Float32Array): FlatParameters {
    return new FlatParameters(manifest, data);
  }

  get size(): number {
    return this.manifest.size;
  }

  entry(name: string): ParameterEntry {
    const entry = this.byName.get(name);
    if (!entry) throw new PosttrainError('PARAMETER_UNKNOWN', `no parameter named '${name}'`, { path: name });
    return entry;
  }

  /** A live view (no copy) of one parameter inside the flat buffer. */
  view(name: string): Float32Array {
    const entry = this.entry(name);
    return this.data.subarray(entry.offset, entry.offset + entry.size);
  }

  /** Copies `buffer` into this one; throws when the size differs from the manifest. */
  load(buffer: Float32Array): void {
    if (buffer.length !== this.size) {
      throw new PosttrainError('PARAMETERS_SIZE_MISMATCH', `cannot load ${buffer.length} floats into a model of ${this.size}`, { path: 'parameters' });
    }
    this.data.set(buffer);
  }

  /**
   * A per-element 1/0 mask of the entries that satisfy `predicate`, e.g. which parameters weight decay touches.
   * @example params.maskWhere((entry) => entry.shape.length >= 2) // matrices and embeddings only
   */
  maskWhere(predicate: (entry: ParameterEntry) => boolean): Uint8Array {
    const mask = new Uint8Array(this.size);
    for (const entry of this.manifest.entries) if (predicate(entry)) mask.fill(1, entry.offset, entry.offset + entry.size);
    return mask;
  }

  /** Whether `other` describes the same names, shapes and offsets. */
  sameLayout(other: ParameterManifest): boolean {
    return other.size === this.size && JSON.stringify(other.entries) === JSON.stringify(this.manifest.entries);
  }

  /** 16 hex digits identifying the exact bytes (see `checksum`). */
  checksum(): string {
    return checksum(this.data);
  }
}

function validateManifest(manifest: ParameterManifest): void {
  let expected = 0;
  for (const entry of manifest.entries) {
    const size = entry.shape.reduce((product, dimension) => product * dimension, 1);
    if (size !== entry.size || entry.offset !== expected) {
      throw new PosttrainError('PARAMETERS_MANIFEST_INVALID', `manifest entry '${entry.name}' has offset ${entry.offset} size ${entry.size}, expected offset ${expected} size ${size}`, {
        path: entry.name,
      });
    }
    expected += size;
  }
  if (expected !== manifest.size) {
    throw new PosttrainError('PARAMETERS_MANIFEST_INVALID', `manifest entries cover ${expected} floats but size is ${manifest.size}`, { path: 'manifest.size' });
  }
}

/**
 * A cheap 64-bit checksum of a typed array's bytes: two independent FNV-1a-style lanes over 32-bit words
 * (about 1 ns per word), printed as 16 hex digits. It tags weight versions (which weights generated a batch); it
 * is not cryptographic — checkpoints use sha256.
 *
 * @example
 * checksum(new Float32Array([1, 2, 3])); // '…16 hex digits…'
 */
export function checksum(values: ArrayBufferView): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const wordCount = values.byteOffset % 4 === 0 ? Math.floor(values.byteLength / 4) : 0;
  const words = new Uint32Array(values.buffer, values.byteOffset, wordCount);
  let low = 0x811c9dc5;
  let high = 0xcbf29ce4 ^ values.byteLength;
  for (let i = 0; i < wordCount; i++) {
    const word = words[i]!;
    low = Math.imul(low ^ word, 0x01000193);
    high = (Math.imul(high ^ ((word >>> 16) | (word << 16)), 0x01000193) + 0x9e3779b9) | 0;
  }
  for (let i = wordCount * 4; i < bytes.length; i++) low = Math.imul(low ^ bytes[i]!, 0x01000193);
  return (low >>> 0).toString(16).padStart(8, '0') + (high >>> 0).toString(16).padStart(8, '0');
}
