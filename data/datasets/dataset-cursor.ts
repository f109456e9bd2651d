/**
 * Exact resume for file datasets. The order of epoch `e` is a permutation seeded by (seed, 'dataset-epoch', e),
 * a pure function of the seed and the epoch, so the cursor `{ epoch, position }` in `state.json` is all a
 * checkpoint needs: a resumed run reads exactly the samples the uninterrupted run would have read, across epoch
 * boundaries too. (The file-backed counterpart of models/tasks/data-cursor.ts.)
 */
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
    for (let index = order.length - 1; index > 0; index--) {
      const other = rng.int(index + 1);
      const kept = order[index]!;
      order[index] = order[other]!;
      order[other] = kept;
    }
    return order;
  }
}

function checkCursor(cursor: DatasetCursorState, size: number): void {
  const ok = Number.isSafeInteger(cursor.epoch) && cursor.epoch >= 0 && Number.isSafeInteger(cursor.position) && cursor.position >= 0 && cursor.position <= size;
  if (!ok) {
    throw new DatasetError('DATA_CONFIG', 'data cursor', `found ${JSON.stringify(cursor)}, expected { epoch, position } with non-negative integers and position <= ${size} (the split's size); was the checkpoint made with another dataset?`);
  }
  if (size === 0) throw new DatasetError('DATA_CONFIG', 'data cursor', 'the split has no samples to stream');
}
