/**
 * How a buffer of `length` elements is cut into `worldSize` segments: segment `index` is
 * `[floor(index * length / worldSize), floor((index + 1) * length / worldSize))`. Segments differ in length by at
 * most one, so a length that is not divisible by the world size (or smaller than it) still works. `reduceScatter`
 * returns segment `rank`; the ring and shared-memory allreduce reduce one segment per rank.
 *
 * @example
 * segmentBounds(10, 3, 0); // [0, 3]
 * segmentBounds(10, 3, 2); // [6, 10]
 */
export function segmentBounds(length: number, worldSize: number, index: number): [start: number, end: number] {
  return [Math.floor((index * length) / worldSize), Math.floor(((index + 1) * length) / worldSize)];
}

/**
 * The chunks `[start, end)` of at most `chunkElements` elements that cover `[start, end)`; the unit of pipelining.
 *
 * @example
 * [...chunksOf(0, 10, 4)]; // [[0, 4], [4, 8], [8, 10]]
 */
export function* chunksOf(start: number, end: number, chunkElements: number): Generator<[start: number, end: number]> {
  for (let chunkStart = start; chunkStart < end; chunkStart += chunkElements) {
    yield [chunkStart, Math.min(end, chunkStart + chunkElements)];
  }
}
