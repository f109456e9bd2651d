/**
 * JSONL rows by index. Opening makes one streaming pass over the file and records where each line starts (a
 * Float64Array of byte offsets: 8 bytes a row, exact past 4 GiB); a read then fetches only the bytes of the
 * rows it wants. Row `i` is line `i + 1`; a blank line is a row (and an error when validated), except the
 * newline that ends the file.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { DatasetError } from './dataset-error.ts';
import type { RowSource } from './row-source.ts';

const NEWLINE = 0x0a;

/**
 * @example
 * const source = await JsonlSource.open('examples/data/arithmetic-prompts.jsonl');
 * const [first] = await source.readRange(0, 1);   // { prompt: '...', answer: 12 }
 */
export class JsonlSource implements RowSource {
  private constructor(
    readonly file: string,
    /** Where the file is on disk (`file` is the name shown in messages). */
    private readonly path: string,
    /** Byte offset where each line starts, plus one past the last line's newline. (rows + 1) */
    private readonly starts: Float64Array,
    readonly length: number,
    readonly columns: readonly string[],
  ) {}

  /** Opens `path`; messages call it `name` (default: the path), e.g. as the recipe wrote it. */
  static async open(path: string, name = path): Promise<JsonlSource> {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      throw new DatasetError('DATA_FILE', name, `cannot read the file: ${(error as Error).message}`);
    }
    const starts = await indexLines(path, size);
    const length = starts.length - 1;
    const partial = new JsonlSource(name, path, starts, length, []);
    const first = length > 0 ? (await partial.readRange(0, 1))[0] : undefined;
    const columns = first !== null && typeof first === 'object' && !Array.isArray(first) ? Object.keys(first) : [];
    return new JsonlSource(name, path, starts, length, columns);
  }

  location(index: number): string {
    return `${this.file}:${index + 1}`;
  }

  async readRange(start: number, count: number): Promise<unknown[]> {
    const end = Math.min(this.length, start + count);
    if (end <= start) return [];
    const bytes = await this.readBytes(this.starts[start]!, this.starts[end]!);
    const base = this.starts[start]!;
    return Array.from({ length: end - start }, (_, offset) =>
      this.parse(bytes.subarray(this.starts[start + offset]! - base, this.starts[start + offset + 1]! - base), start + offset),
    );
  }

  async read(indices: ArrayLike<number>): Promise<unknown[]> {
    const handle = await open(this.path, 'r');
    try {
      const rows: unknown[] = [];
      for (let position = 0; position < indices.length; position++) {
        const index = indices[position]!;
        if (!(index >= 0 && index < this.length)) throw new RangeError(`${this.file}: row ${index} is out of range 0..${this.length - 1}`);
        const from = this.starts[index]!;
        const buffer = Buffer.alloc(this.starts[index + 1]! - from);
        await handle.read(buffer, 0, buffer.length, from);
        rows.push(this.parse(buffer, index));
      }
      return rows;
    } finally {
      await handle.close();
    }
  }

  private async readBytes(from: number, to: number): Promise<Buffer> {
    const handle = await open(this.path, 'r');
    try {
      const buffer = Buffer.alloc(to - from);
      await handle.read(buffer, 0, buffer.length, from);
      return buffer;
    } finally {
      await handle.close();
    }
  }

  /** One line's bytes (with its newline) as JSON; bad JSON names the line and the parser's complaint. */
  private parse(bytes: Uint8Array, index: number): unknown {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').trim();
    if (text.length === 0) throw new DatasetError('DATA_ROW', this.location(index), 'found an empty line, expected a JSON object (remove blank lines)');
    try {
      return JSON.parse(text);
    } catch (error) {
      const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
      throw new DatasetError('DATA_ROW', this.location(index), `found bad JSON (${(error as Error).message}) in ${shown}, expected one JSON object per line`);
    }
  }
}

/** One pass over the file: the offset after every newline. (rows + 1) */
async function indexLines(file: string, size: number): Promise<Float64Array> {
  let starts = new Float64Array(1024);
  let count = 1; // starts[0] = 0
  let offset = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let at = chunk.indexOf(NEWLINE);
    while (at !== -1) {
      if (count === starts.length) {
        const grown = new Float64Array(starts.length * 2);
        grown.set(starts);
        starts = grown;
      }
      starts[count++] = offset + at + 1;
      at = chunk.indexOf(NEWLINE, at + 1);
    }
    offset += chunk.length;
  }
  // A last line without a newline is still a row; the newline that ends the file opens none.
  if (starts[count - 1]! < size) {
    if (count === starts.length) {
      const grown = new Float64Array(starts.length + 1);
      grown.set(starts);
      starts = grown;
    }
    starts[count++] = size;
  }
  return starts.slice(0, count);
}
