import { ConfigError } from './errors.ts';

/**
 * How values cross process boundaries (call arguments, results, stored objects): a small JSON skeleton plus raw
 * byte buffers. Every typed array is replaced in the skeleton by a placeholder `{"$pt":"ta","k":"f32","i":0}` and
 * its bytes travel as buffer 0, untouched: never JSON, never a generic serializer (a production lesson: weights
 * wrapped in a class went through the slow generic serializer at 3x memory).
 *
 * Supported: JSON values, `undefined`, non-finite numbers, bigint, Date, Map, Set, every typed array, ArrayBuffer,
 * Buffer (arrives as Uint8Array), and, through hooks, ObjectRefs and actor handles. A class instance is refused
 * with its path, so nothing is silently flattened into `{}`.
 *
 * @example
 * const encoded = encodeValue({ logProbs: new Float32Array([0.1, 0.2]), step: 3 });
 * const value = decodeValue(encoded.json, (index, kind) => viewBuffer(encoded.buffers[index]!, kind));
 */
export interface EncodedValue {
  json: string;
  buffers: Uint8Array[];
}

/** Hooks for the runtime's own handle types (ObjectRef, ActorHandle), which need process context to encode. */
export interface ValueHooks {
  /** Return JSON-able data for a special object, or undefined when `value` is not one. */
  encodeSpecial?(value: object): { tag: string; data: unknown } | undefined;
  decodeSpecial?(tag: string, data: unknown): unknown;
}

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

type TypedArrayConstructor = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TypedArray; new (length: number): TypedArray; BYTES_PER_ELEMENT: number };

/** Short kind codes for the typed arrays the codec carries. */
export const TYPED_ARRAY_KINDS: Record<string, TypedArrayConstructor> = {
  i8: Int8Array,
  u8: Uint8Array,
  u8c: Uint8ClampedArray,
  i16: Int16Array,
  u16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  f32: Float32Array,
  f64: Float64Array,
  i64: BigInt64Array,
  u64: BigUint64Array,
  ab: Uint8Array,
};

export function typedArrayKind(value: ArrayBufferView): string | undefined {
  if (value instanceof Float32Array) return 'f32';
  if (value instanceof Uint8Array) return 'u8';
  if (value instanceof Int32Array) return 'i32';
  if (value instanceof Float64Array) return 'f64';
  if (value instanceof Uint32Array) return 'u32';
  if (value instanceof Int8Array) return 'i8';
  if (value instanceof Uint8ClampedArray) return 'u8c';
  if (value instanceof Int16Array) return 'i16';
  if (value instanceof Uint16Array) return 'u16';
  if (value instanceof BigInt64Array) return 'i64';
  if (value instanceof BigUint64Array) return 'u64';
  return undefined;
}

const TAG = '$pt';

export function encodeValue(value: unknown, hooks: ValueHooks = {}): EncodedValue {
  const buffers: Uint8Array[] = [];
  const skeleton = transform(value, '$', buffers, hooks);
  return { json: skeleton === undefined ? `{"${TAG}":"undef"}` : JSON.stringify(skeleton), buffers };
}

/**
 * Walk the value, returning it unchanged (same reference) where it holds nothing special, so plain JSON data is
 * not copied before `JSON.stringify`.
 */
function transform(value: unknown, path: string, buffers: Uint8Array[], hooks: ValueHooks): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : { [TAG]: 'num', v: String(value) };
    case 'undefined':
      return undefined;
    case 'bigint':
      return { [TAG]: 'big', v: value.toString() };
    case 'function':
    case 'symbol':
      throw new ConfigError([{ path, message: `a ${typeof value} cannot be sent to another process` }]);
  }
  if (value === null) return null;
  const object = value as object;
  if (ArrayBuffer.isView(object)) {
    const kind = typedArrayKind(object);
    if (kind === undefined) throw new ConfigError([{ path, message: 'DataView cannot be sent; send a typed array' }]);
    buffers.push(new Uint8Array(object.buffer, object.byteOffset, object.byteLength));
    return { [TAG]: 'ta', k: kind, i: buffers.length - 1 };
  }
  if (object instanceof ArrayBuffer) {
    buffers.push(new Uint8Array(object));
    return { [TAG]: 'ta', k: 'ab', i: buffers.length - 1 };
  }
  if (Array.isArray(object)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < object.length; index++) {
      const item = object[index];
      let out = transform(item, `${path}[${index}]`, buffers, hooks);
      if (out === undefined) out = { [TAG]: 'undef' };
      if (out !== item && copy === undefined) copy = object.slice(0, index);
      if (copy !== undefined) copy.push(out);
    }
    return copy ?? object;
  }
  const special = hooks.encodeSpecial?.(object);
  if (special !== undefined) return { [TAG]: special.tag, d: special.data };
  if (object instanceof Date) return { [TAG]: 'date', v: object.getTime() };
  if (object instanceof Map) {
    return { [TAG]: 'map', v: [...object.entries()].map(([key, item], index) => [transform(key, `${path}.key${index}`, buffers, hooks), transform(item, `${path}.get(${index})`, buffers, hooks) ?? { [TAG]: 'undef' }]) };
  }
  if (object instanceof Set) {
    return { [TAG]: 'set', v: [...object].map((item, index) => transform(item, `${path}.item${index}`, buffers, hooks)) };
  }
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (object as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    throw new ConfigError([
      { path, message: `an instance of class ${name} cannot be sent to another process; send plain data, typed arrays or an ObjectRef` },
    ]);
  }
  let copy: Record<string, unknown> | undefined;
  for (const key in object) {
    if (key === TAG) throw new ConfigError([{ path: `${path}.${key}`, message: `the key '${TAG}' is reserved by the runtime` }]);
    const item = (object as Record<string, unknown>)[key];
    const out = transform(item, `${path}.${key}`, buffers, hooks);
    if (out !== item && copy === undefined) {
      copy = {};
      for (const earlier in object) {
        if (earlier === key) break;
        copy[earlier] = (object as Record<string, unknown>)[earlier];
      }
    }
    if (copy !== undefined && out !== undefined) copy[key] = out;
  }
  return copy ?? object;
}

/** Supplies the typed array for buffer `index` of kind `kind` (a view, a copy, or bytes read from a file). */
export type BufferProvider = (index: number, kind: string) => unknown;

export function decodeValue(json: string, provide: BufferProvider, hooks: ValueHooks = {}): unknown {
  const parsed = JSON.parse(json) as unknown;
  if (!json.includes(`"${TAG}"`)) return parsed;
  return revive(parsed, provide, hooks);
}

function revive(value: unknown, provide: BufferProvider, hooks: ValueHooks): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) value[index] = revive(value[index], provide, hooks);
    return value;
  }
  const record = value as Record<string, unknown>;
  const tag = record[TAG];
  if (typeof tag === 'string') {
    switch (tag) {
      case 'ta':
        return provide(record.i as number, record.k as string);
      case 'undef':
        return undefined;
      case 'num':
        return Number(record.v);
      case 'big':
        return BigInt(record.v as string);
      case 'date':
        return new Date(record.v as number);
      case 'map':
        return new Map((record.v as [unknown, unknown][]).map(([key, item]) => [revive(key, provide, hooks), revive(item, provide, hooks)]));
      case 'set':
        return new Set((record.v as unknown[]).map((item) => revive(item, provide, hooks)));
      default:
        if (!hooks.decodeSpecial) throw new Error(`cannot decode a '${tag}' here`);
        return hooks.decodeSpecial(tag, record.d);
    }
  }
  for (const key of Object.keys(record)) record[key] = revive(record[key], provide, hooks);
  return record;
}

/**
 * A typed array over received bytes: a view when the bytes are aligned for the element size, otherwise a copy.
 * `ab` (ArrayBuffer) always gets its own copy of exactly its bytes.
 */
export function viewBuffer(bytes: Uint8Array, kind: string): unknown {
  const constructor = TYPED_ARRAY_KINDS[kind];
  if (!constructor) throw new Error(`unknown typed array kind '${kind}'`);
  if (kind === 'ab') return bytes.slice().buffer;
  const size = constructor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % size === 0) return new constructor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  const copy = bytes.slice();
  return new constructor(copy.buffer as ArrayBuffer, 0, bytes.byteLength / size);
}
