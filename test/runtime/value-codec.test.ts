import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.ts';
import { decodeValue, encodeValue, viewBuffer } from '../../runtime/value-codec.ts';

function roundTrip(value: unknown): unknown {
  const encoded = encodeValue(value);
  return decodeValue(encoded.json, (index, kind) => viewBuffer(encoded.buffers[index]!, kind));
}

describe('value codec', () => {
  it('moves typed arrays as raw buffers, never through JSON', () => {
    const weights = new Float32Array([0.25, -1.5, 3]);
    const encoded = encodeValue({ weights, step: 4 });
    expect(encoded.json).toBe('{"weights":{"$pt":"ta","k":"f32","i":0},"step":4}');
    expect(encoded.buffers[0]!.buffer).toBe(weights.buffer);
    expect(roundTrip({ weights, step: 4 })).toEqual({ weights, step: 4 });
  });

  it('keeps every typed array kind, subarray views and ArrayBuffers', () => {
    const base = new Float64Array([1, 2, 3, 4]);
    const value = {
      view: base.subarray(1, 3),
      ints: new Int32Array([-1, 2]),
      bytes: new Uint8Array([255]),
      bigs: new BigInt64Array([-(2n ** 60n)]),
      raw: new Uint16Array([7, 8]).buffer,
    };
    const back = roundTrip(value) as typeof value;
    expect([...back.view]).toEqual([2, 3]);
    expect(back.ints).toBeInstanceOf(Int32Array);
    expect(back.bigs[0]).toBe(-(2n ** 60n));
    expect(new Uint16Array(back.raw)).toEqual(new Uint16Array([7, 8]));
  });

  it('keeps values JSON loses: undefined in arrays, non-finite numbers, bigint, Date, Map, Set', () => {
    const value = [undefined, Infinity, -Infinity, 10n, new Date(5), new Map([['a', new Float32Array([1])]]), new Set([1, 2])];
    expect(roundTrip(value)).toEqual(value);
    expect(roundTrip(undefined)).toBeUndefined();
  });

  it('refuses class instances and functions with the path to them', () => {
    class Weights {
      data = new Float32Array(1);
    }
    expect(() => encodeValue({ model: { layers: [new Weights()] } })).toThrow(ConfigError);
    expect(() => encodeValue({ model: { layers: [new Weights()] } })).toThrow(/\$\.model\.layers\[0\]: an instance of class Weights cannot be sent/);
    expect(() => encodeValue({ callback: () => 1 })).toThrow(/\$\.callback: a function/);
  });

  it('does not copy plain JSON data before serializing it', () => {
    const plain = { a: [1, 2, { b: 'c' }] };
    expect(encodeValue(plain).json).toBe(JSON.stringify(plain));
  });
});
