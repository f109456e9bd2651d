/**
 * `npm run bench -- dataset-streaming [--mb 256] [--reads 20000] [--heap-mb 96]`
 *
 * Files larger than memory stream: writes a JSONL and a Parquet file of about `--mb` MB each (prompt-completion
 * rows with an `answer` column), then, in a child process whose V8 heap is capped at `--heap-mb` MB (smaller than
 * either file), opens each, runs the validation pass over every row and does `--reads` shuffled sample reads
 * through a DatasetStream. Reports peak RSS and heap against the file size, and the validation pass's MB/s
 * against the physical limit measured in the same run (a plain sequential read of the same file, nothing parsed)
 * and against a peer pass in the same capped child (JSONL: readline + JSON.parse per line; Parquet: hyparquet
 * decoding every row group), which is the floor for any reader that parses the rows.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import { wordProblem } from '../data/generate/arithmetic-word-problems.ts';

const here = dirname(fileURLToPath(import.meta.url));

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

/** Row `index`: an arithmetic problem padded with a long system-style preamble so rows are ~1 KB, like chat data. */
function row(index: number): { prompt: string; completion: string; answer: number } {
  const problem = wordProblem(7, index);
  return { prompt: `${'Solve the problem step by step and end with #### and the answer. '.repeat(14)}(#${index}) ${problem.prompt}`, completion: problem.completion, answer: problem.answer };
}

async function writeJsonl(path: string, bytes: number): Promise<number> {
  const out = createWriteStream(path);
  let written = 0;
  let rows = 0;
  while (written < bytes) {
    const line = `${JSON.stringify(row(rows++))}\n`;
    written += Buffer.byteLength(line);
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return rows;
}

function writeParquet(path: string, rows: number): void {
  const groupRows = 20_000;
  const columns = (start: number, count: number) => {
    const batch = Array.from({ length: count }, (_, offset) => row(start + offset));
    return [
      { name: 'prompt', data: batch.map((each) => each.prompt), type: 'STRING' as const },
      { name: 'completion', data: batch.map((each) => each.completion), type: 'STRING' as const },
      { name: 'answer', data: batch.map((each) => each.answer), type: 'INT32' as const },
    ];
  };
  const writer = new ParquetWriter({ writer: fileWriter(path), schema: schemaFromColumnData({ columnData: columns(0, 1) }), codec: 'UNCOMPRESSED' });
  for (let start = 0; start < rows; start += groupRows) writer.write({ columnData: columns(start, Math.min(groupRows, rows - start)), rowGroupSize: groupRows });
  writer.finish();
}

/** MB/s of a plain sequential read of the file: the physical limit for any pass over it. */
async function rawReadMbPerSecond(path: string): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) bytes += chunk.length;
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}

export async function main(args: string[]): Promise<void> {
  const megabytes = option(args, '--mb', 256);
  const reads = option(args, '--reads', 20_000);
  const heapMb = option(args, '--heap-mb', 96);
  const directory = mkdtempSync(join(tmpdir(), 'posttrain-bench-data-'));
  try {
    const jsonl = join(directory, 'train.jsonl');
    const parquet = join(directory, 'train.parquet');
    const rows = await writeJsonl(jsonl, megabytes * 1e6);
    writeParquet(parquet, rows);
    const results = [];
    for (const file of [jsonl, parquet]) {
      const rawMbPerSecond = await rawReadMbPerSecond(file);
      const child = spawnSync(process.execPath, [`--max-old-space-size=${heapMb}`, '--import', 'tsx', join(here, '_dataset-reader.ts'), file, String(reads)], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`reader failed on ${file} (exit ${child.status}): ${child.stderr}`);
      const measured = JSON.parse(child.stdout) as { peerSeconds: number; validateSeconds: number; peakRssMb: number; peakHeapMb: number; readsPerSecond: number; rows: number };
      const fileMb = statSync(file).size / 1e6;
      results.push({
        file: file.endsWith('.jsonl') ? 'jsonl' : 'parquet',
        fileMb: Math.round(fileMb),
        rows: measured.rows,
        heapCapMb: heapMb,
        peakRssMb: measured.peakRssMb,
        peakHeapMb: measured.peakHeapMb,
        peakRssOverFileSize: round(measured.peakRssMb / fileMb),
        validateMbPerSecond: round(fileMb / measured.validateSeconds),
        rawReadMbPerSecond: round(rawMbPerSecond),
        validateOverRawRead: round(fileMb / measured.validateSeconds / rawMbPerSecond),
        peerParseMbPerSecond: round(fileMb / measured.peerSeconds),
        validateOverPeerParse: round(measured.peerSeconds / measured.validateSeconds),
        shuffledReadsPerSecond: Math.round(measured.readsPerSecond),
      });
    }
    process.stdout.write(`${JSON.stringify({ bench: 'dataset-streaming', machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, results }, null, 2)}\n`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
