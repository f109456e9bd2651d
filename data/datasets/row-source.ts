/**
 * A file of rows read by index without holding the file in memory: JSONL through a byte-offset index
 * (jsonl-source.ts), Parquet one row group at a time (parquet-source.ts). Rows come back raw (parsed, not
 * validated); validate-row.ts checks them.
 */

/** A readable dataset file. */
export interface RowSource {
  /** The file, as the user named it (used in every message). */
  readonly file: string;
  /** How many rows the file has. */
  readonly length: number;
  /** Column names, as the file declares them (Parquet's schema) or as its first row has them (JSONL). */
  readonly columns: readonly string[];
  /** Rows `start .. start + count - 1`, in order; a row that cannot be parsed throws a DatasetError. */
  readRange(start: number, count: number): Promise<unknown[]>;
  /** The rows at `indices`, in that order (shuffled access). */
  read(indices: ArrayLike<number>): Promise<unknown[]>;
  /**
   * Rows that are cheap to read together and dear to read apart (Parquet's row groups): the first row of each
   * block, then the row count. (blocks + 1) Undefined when any row is as cheap as any other (JSONL).
   */
  readonly blocks?: Float64Array;
  /** Where row `index` is, for messages: `train.jsonl:12` or `train.parquet row 11`. */
  location(index: number): string;
}
