/**
 * Parquet rows by index, through hyparquet (a maintained pure-JS reader; Node 20 works). Only the footer is read
 * on open; a read decodes the row groups it touches, one at a time, and keeps the last one decoded, so memory
 * holds at most one row group however large the file. Row `i` is reported as `file row i` (counting from 0, as
 * pandas and `datasets` do). 64-bit integers become numbers when they are exact, otherwise stay bigint.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { DatasetError } from './dataset-error.ts';
import type { RowSource } from './row-source.ts';

/**
 * @example
 * const source = await ParquetSource.open('train.parquet');
 * const rows = await source.read([5, 0, 3]);
 */
export class ParquetSource implements RowSource {
  /** The last row group decoded: its index and its rows. */
  private cached: { group: number; rows: Record<string, unknown>[] } | undefined;

  private constructor(
    readonly file: string,
    private readonly buffer: AsyncBuffer,
    private readonly metadata: FileMetaData,
    /** First row of each row group, plus the row count. (groups + 1) */
    private readonly groupStarts: Float64Array,
    readonly columns: readonly string[],
  ) {}

  /** Row groups: decoding one costs the same whether one row or all of it is wanted. */
  get blocks(): Float64Array {
    return this.groupStarts;
  }

  get length(): number {
    return this.groupStarts[this.groupStarts.length - 1]!;
  }

  /** Opens `path`; messages call it `name` (default: the path), e.g. as the recipe wrote it. */
  static async open(path: string, name = path): Promise<ParquetSource> {
    let buffer: AsyncBuffer;
    let metadata: FileMetaData;
    try {
      buffer = await asyncBufferFromFile(path);
      metadata = await parquetMetadataAsync(buffer);
    } catch (error) {
      throw new DatasetError('DATA_FILE', name, `cannot read it as Parquet: ${(error as Error).message}`);
    }
    const groupStarts = new Float64Array(metadata.row_groups.length + 1);
    metadata.row_groups.forEach((group, index) => {
      groupStarts[index + 1] = groupStarts[index]! + Number(group.num_rows);
    });
    const columns = parquetSchema(metadata).children.map((child) => child.element.name);
    return new ParquetSource(name, buffer, metadata, groupStarts, columns);
  }

  location(index: number): string {
    return `${this.file} row ${index}`;
  }

  async readRange(start: number, count: number): Promise<unknown[]> {
    const end = Math.min(this.length, start + count);
    return this.read(Array.from({ length: Math.max(0, end - start) }, (_, offset) => start + offset));
  }

  async read(indices: ArrayLike<number>): Promise<unknown[]> {
    const rows: unknown[] = [];
    for (let position = 0; position < indices.length; position++) {
      const index = indices[position]!;
      if (!(index >= 0 && index < this.length)) throw new RangeError(`${this.file}: row ${index} is out of range 0..${this.length - 1}`);
      const group = this.groupOf(index);
      const decoded = await this.rowGroup(group);
      rows.push(decoded[index - this.groupStarts[group]!]);
    }
    return rows;
  }

  private groupOf(index: number): number {
    let low = 0;
    let high = this.groupStarts.length - 2;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.groupStarts[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  private async rowGroup(group: number): Promise<Record<string, unknown>[]> {
    if (this.cached?.group === group) return this.cached.rows;
    this.cached = undefined; // let the previous group go before decoding the next
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: this.buffer, metadata: this.metadata, rowStart: this.groupStarts[group]!, rowEnd: this.groupStarts[group + 1]! });
    } catch (error) {
      throw new DatasetError('DATA_ROW', `${this.file} row group ${group} (rows ${this.groupStarts[group]}..${this.groupStarts[group + 1]! - 1})`, `cannot decode it: ${(error as Error).message}`);
    }
    const plain = rows.map((row) => exactNumbers(row) as Record<string, unknown>);
    this.cached = { group, rows: plain };
    return plain;
  }
}

/** bigint -> number where exact, recursively (lists, structs), so rows look like their JSONL equivalent. */
function exactNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (Array.isArray(value)) return value.map(exactNumbers);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, exactNumbers(inner)]));
  }
  return value;
}
