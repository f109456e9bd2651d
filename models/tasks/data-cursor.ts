/**
 * A resumable position in an indexed stream of examples. The stream is a pure function of the index
 * (`task.sftExample`, `task.trainPrompt`, `task.preferencePair`), so saving `position` in `state.json` is all a
 * checkpoint needs to resume the data exactly.
 *
 * @example
 * const cursor = new DataCursor((index) => task.sftExample(index));
 * const batch = cursor.next(64);                       // examples 0..63
 * const saved = cursor.position;                       // 64, goes into state.json
 * const resumed = new DataCursor((index) => task.sftExample(index), saved);
 * resumed.next(64);                                    // examples 64..127, as the uninterrupted run
 */
export class DataCursor<T> {
  private index: number;

  constructor(
    private readonly source: (index: number) => T,
    position = 0,
  ) {
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new RangeError(`DataCursor position must be a non-negative integer, got ${position}`);
    }
    this.index = position;
  }

  /** Index of the next example this cursor returns. */
  get position(): number {
    return this.index;
  }

  /** The next `count` examples, advancing the cursor. */
  next(count: number): T[] {
    const examples = Array.from({ length: count }, (_, offset) => this.source(this.index + offset));
    this.index += count;
    return examples;
  }
}

/** Examples `start .. start + count - 1` of an indexed stream, without a cursor. */
export function takeRange<T>(source: (index: number) => T, start: number, count: number): T[] {
  return Array.from({ length: count }, (_, offset) => source(start + offset));
}
