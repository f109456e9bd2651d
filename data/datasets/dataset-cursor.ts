/**
 * Exact resume for file datasets. The order of epoch `e` is a permutation seeded by (seed, 'dataset-epoch', e),
 * a pure function of the seed, the epoch and the file, so the cursor `{ epoch, position }` in `state.json` is all a
 * checkpoint needs: a resumed run reads exactly the samples the uninterrupted run would have read, across epoch
 * boundaries too. (The file-backed counterpart of models/tasks/data-cursor.ts.)
 *
 * Where the file has blocks (Parquet row groups) the shuffle is two-level: the blocks in a seeded order, then
 * the rows of each block in a seeded order, so an epoch decodes each row group once and memory holds one. A
 * full permutation would decode a row group for nearly every sample (measured: bench/dataset-streaming.ts).
 * The price is that a batch comes mostly from one row group; keep row groups small (a few thousand rows) or
 * use JSONL when that matters. JSONL, whose rows are equally cheap to reach, gets a full permutation.
 */
import type { Rng } from '../../models/rng.ts';
import { exampleRng } from '../../models/tasks/seeded.ts';
import { DatasetError } from './dataset-error.ts';
import type { DatasetSplit } from './dataset-split.ts';
import type { DatasetSample } from './sample.ts';

/** Where a stream is: JSON-serialisable, saved in the checkpoint. */
export interface DatasetCursorState {
  /** Passes over the split completed so far. */
  epoch: number;
  /** Samples of the current epoch already returned. */
  position: number;
}

/**
 * @example
 * const stream = new DatasetStream(split, { seed: 7 });
 * await stream.next(32);                      // 32 samples of epoch 0's shuffled order
 * const saved = stream.cursor;                // { epoch: 0, position: 32 } -> state.json
 * const resumed = new DatasetStream(split, { seed: 7 }, saved);
 * await resumed.next(32);                     // the samples the uninterrupted stream returns next
 */
export class DatasetStream {
  private epoch: number;
  private position: number;
  private order: Int32Array;

  constructor(
    private readonly split: DatasetSplit,
    private readonly options: { seed: number; shuffle?: boolean },
    cursor: DatasetCursorState = { epoch: 0, position: 0 },
  ) {
    checkCursor(cursor, split.size);
    this.epoch = cursor.epoch;
    this.position = cursor.position;
    this.order = this.epochOrder(this.epoch);
  }

  /** The cursor to save; a stream built with it continues exactly here. */
  get cursor(): DatasetCursorState {
    return { epoch: this.epoch, position: this.position };
  }

  /** The next `count` samples; crossing the end of the split starts the next epoch in its own order. */
  async next(count: number): Promise<DatasetSample[]> {
    const positions: number[] = [];
    while (positions.length < count) {
      if (this.position === this.order.length) {
        this.epoch += 1;
        this.position = 0;
        this.order = this.epochOrder(this.epoch);
      }
      positions.push(this.order[this.position++]!);
    }
    return this.split.read(positions);
  }

  /** Split positions in the order epoch `epoch` visits them. (size) */
  private epochOrder(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.split.size }, (_, index) => index);
    if (this.options.shuffle === false) return order;
    const rng = exampleRng(this.options.seed, 'dataset-epoch', epoch);
    const blocks = blockRanges(this.split.rows, this.split.source.blocks);
    if (blocks.length <= 1) return shuffleInPlace(order, rng);
    const shuffled = new Int32Array(order.length);
    let filled = 0;
    for (const block of shuffleInPlace(Int32Array.from(blocks.keys()), rng)) {
      const [start, end] = blocks[block]!;
      const rows = shuffleInPlace(order.slice(start, end), rng);
      shuffled.set(rows, filled);
      filled += rows.length;
    }
    return shuffled;
  }
}

/** Split positions [start, end) of each non-empty block; split rows ascend, so each block's positions are contiguous. */
function blockRanges(rows: Int32Array, blocks: Float64Array | undefined): [number, number][] {
  if (blocks === undefined) return [[0, rows.length]];
  const ranges: [number, number][] = [];
  let position = 0;
  for (let block = 0; block + 1 < blocks.length && position < rows.length; block++) {
    const start = position;
    while (position < rows.length && rows[position]! < blocks[block + 1]!) position++;
    if (position > start) ranges.push([start, position]);
  }
  return ranges;
}

/** Fisher-Yates, in place. */
function shuffleInPlace(items: Int32Array, rng: Rng): Int32Array {
  for (let index = items.length - 1; index > 0; index--) {
    const other = rng.int(index + 1);
    const kept = items[index]!;
    items[index] = items[other]!;
    items[other] = kept;
  }
  return items;
}

function checkCursor(cursor: DatasetCursorState, size: number): void {
  const ok = Number.isSafeInteger(cursor.epoch) && cursor.epoch >= 0 && Number.isSafeInteger(cursor.position) && cursor.position >= 0 && cursor.position <= size;
  if (!ok) {
    throw new DatasetError('DATA_CONFIG', 'data cursor', `found ${JSON.stringify(cursor)}, expected { epoch, position } with non-negative integers and position <= ${size} (the split's size); was the checkpoint made with another dataset?`);
  }
  if (size === 0) throw new DatasetError('DATA_CONFIG', 'data cursor', 'the split has no samples to stream');
}
