/**
 * One split (train or eval) of a validated file: which of its rows belong to the split, in file order, and how
 * to read them as samples. Splits hold row indices (4 bytes a row), never rows.
 */
import type { DatasetFormat } from './dataset-format.ts';
import type { RowSource } from './row-source.ts';
import type { DatasetSample } from './sample.ts';
import { validateRow, type ColumnMapping } from './validate-row.ts';

/**
 * @example
 * const split = new DatasetSplit(source, format, {}, Int32Array.from([0, 2, 5]));
 * await split.read([2, 0]);   // samples of file rows 5 and 0
 */
export class DatasetSplit {
  constructor(
    /** The file. */
    readonly source: RowSource,
    /** Its format, from the validation pass. */
    readonly format: DatasetFormat,
    /** TRL column -> file column. */
    readonly mapping: ColumnMapping,
    /** File row of each split position, ascending. (size) */
    readonly rows: Int32Array,
  ) {}

  /** Number of samples in the split. */
  get size(): number {
    return this.rows.length;
  }

  /** The samples at split `positions`, in that order. */
  async read(positions: ArrayLike<number>): Promise<DatasetSample[]> {
    const fileRows = Int32Array.from({ length: positions.length }, (_, index) => this.rows[positions[index]!]!);
    const raws = await this.source.read(fileRows);
    return raws.map((raw, index) => validateRow(raw, fileRows[index]!, this.format, this.mapping, this.source.location(fileRows[index]!)));
  }
}
