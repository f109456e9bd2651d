import { describe, expect, it } from 'vitest';
import { CollectiveError } from '../../../runtime/collectives/errors.ts';
import { chunksOf, segmentBounds } from '../../../runtime/collectives/partition.ts';
import { ReduceKernel } from '../../../runtime/collectives/reduce-kernel.ts';
import { encodeControl, encodeHeader, FrameKind, FrameReader, type FrameHeader } from '../../../runtime/collectives/transport/frames.ts';

describe('segments and chunks', () => {
  it('cut any length into worldSize contiguous segments that differ by at most one element', () => {
    for (const [length, worldSize] of [[0, 3], [1, 3], [2, 3], [10, 3], [1000, 7], [16, 4]] as const) {
      const segments = Array.from({ length: worldSize }, (_, index) => segmentBounds(length, worldSize, index));
      expect(segments[0]![0]).toBe(0);
      expect(segments.at(-1)![1]).toBe(length);
      for (let index = 1; index < worldSize; index++) expect(segments[index]![0]).toBe(segments[index - 1]![1]);
      const sizes = segments.map(([start, end]) => end - start);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(segmentBounds(10, 3, 0)).toEqual([0, 3]);
    expect(segmentBounds(10, 3, 2)).toEqual([6, 10]);
  });

  it('chunk a range into pieces of at most the chunk size', () => {
    expect([...chunksOf(0, 10, 4)]).toEqual([[0, 4], [4, 8], [8, 10]]);
    expect([...chunksOf(5, 5, 4)]).toEqual([]);
  });
});

describe('SIMD reduce kernel', () => {
  const kernel = new ReduceKernel(8);
  const combine = (op: 'sum' | 'max' | 'min', left: number[], right: number[]): number[] => {
    kernel.accumulator.set(left);
    kernel.operand.set(right);
    kernel.combine(op, left.length);
    return [...kernel.accumulator.subarray(0, left.length)];
  };

  it('adds, takes the max and the min element-wise, including counts that are not a multiple of four lanes', () => {
    expect(combine('sum', [1, 2, 3, 4, 5], [10, 20, 30, 40, 50.5])).toEqual([11, 22, 33, 44, 55.5]);
    expect(combine('max', [1, -2, 3, -4, 5, 6, 7], [0, 0, 0, 0, 9, -6, 7.5])).toEqual([1, 0, 3, 0, 9, 6, 7.5]);
    expect(combine('min', [1, -2, 3], [0, 0, 4])).toEqual([0, -2, 3]);
  });

  it('rounds like float32 arithmetic: 0.1 + 0.2 and a division by three', () => {
    expect(combine('sum', [0.1], [0.2])[0]).toBe(Math.fround(Math.fround(0.1) + Math.fround(0.2)));
    kernel.accumulator.set([1, 2, 10]);
    kernel.divide(3, 3);
    expect([...kernel.accumulator.subarray(0, 3)]).toEqual([Math.fround(1 / 3), Math.fround(2 / 3), Math.fround(10 / 3)]);
  });

  it('refuses more elements than it holds', () => {
    expect(() => kernel.combine('sum', 9)).toThrow(RangeError);
  });
});

describe('frame reader', () => {
  const frames = (): { bytes: Buffer; payload: Float32Array } => {
    const payload = Float32Array.of(1.5, -2, 3.25);
    const data = Buffer.from(payload.buffer);
    const bytes = Buffer.concat([
      encodeControl({ type: 'phase', sequence: 1, name: 'arrive' }),
      encodeHeader({ kind: FrameKind.copy, step: 2, sequence: 7, offset: 40, payloadBytes: data.length }),
      data,
      encodeControl({ type: 'bye', completed: 7 }),
    ]);
    return { bytes, payload };
  };

  function collect(feed: (reader: FrameReader, bytes: Buffer) => void): { controls: unknown[]; headers: FrameHeader[]; target: Float32Array } {
    const controls: unknown[] = [];
    const headers: FrameHeader[] = [];
    const target = new Float32Array(3);
    const reader = new FrameReader({
      destination: () => new Uint8Array(target.buffer),
      data: (header) => headers.push(header),
      control: (message) => controls.push(message),
    });
    feed(reader, frames().bytes);
    return { controls, headers, target };
  }

  it('reassembles control and data frames fed one byte at a time, writing the payload into its destination', () => {
    const { controls, headers, target } = collect((reader, bytes) => {
      for (const byte of bytes) reader.push(Uint8Array.of(byte));
    });
    expect(controls).toEqual([{ type: 'phase', sequence: 1, name: 'arrive' }, { type: 'bye', completed: 7 }]);
    expect(headers).toEqual([{ kind: FrameKind.copy, step: 2, sequence: 7, offset: 40, payloadBytes: 12 }]);
    expect(target).toEqual(frames().payload);
  });

  it('gives the same result when the socket reads straight into nextBuffer()', () => {
    const { controls, target } = collect((reader, bytes) => {
      let position = 0;
      while (position < bytes.length) {
        const into = reader.nextBuffer();
        const count = Math.min(into.length, 5, bytes.length - position);
        into.set(bytes.subarray(position, position + count));
        position += count;
        reader.advance(count);
      }
    });
    expect(controls).toHaveLength(2);
    expect(target).toEqual(frames().payload);
  });

  it('rejects bytes that are not frames, and oversized control frames, as protocol errors', () => {
    const reader = new FrameReader({ destination: () => new Uint8Array(0), data: () => {}, control: () => {} });
    expect(() => reader.push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toThrow(CollectiveError);
    const huge = new FrameReader({ destination: () => new Uint8Array(0), data: () => {}, control: () => {} });
    const header = encodeHeader({ kind: FrameKind.control, step: 0, sequence: 0, offset: 0, payloadBytes: 64 * 1024 * 1024 });
    expect(() => huge.push(header)).toThrow(/exceeds/);
  });
});
