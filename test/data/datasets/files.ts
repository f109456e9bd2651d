/** Writes small dataset files for tests: JSONL from rows (or raw lines), Parquet through hyparquet-writer. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'posttrain-data-'));
}

export function writeJsonl(dir: string, name: string, rows: readonly unknown[]): string {
  return writeLines(dir, name, rows.map((row) => JSON.stringify(row)));
}

export function writeLines(dir: string, name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((line) => `${line}\n`).join(''));
  return path;
}

/** Rows -> a Parquet file with `rowGroupSize` rows per group (columns from the first row). */
export function writeParquet(dir: string, name: string, rows: readonly Record<string, unknown>[], rowGroupSize = 2): string {
  const path = join(dir, name);
  const names = Object.keys(rows[0]!);
  parquetWriteFile({ filename: path, columnData: names.map((column) => ({ name: column, data: rows.map((row) => row[column] ?? null) as never })), rowGroupSize });
  return path;
}
