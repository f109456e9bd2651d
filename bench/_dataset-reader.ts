/**
 * Child of bench/dataset-streaming.ts, run with a capped heap: opens a dataset file, validates every row, then
 * does shuffled reads; prints timings and peak memory as JSON.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { DatasetSplit, DatasetStream, openRowSource, validateDataset } from '../data/datasets/index.ts';

/** The floor any reader pays: JSONL by readline + JSON.parse; Parquet decoded row group by row group by hyparquet. */
async function peerPass(path: string): Promise<number> {
  const started = performance.now();
  let rows = 0;
  if (path.endsWith('.jsonl')) {
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) if (JSON.parse(line) !== null) rows++;
  } else {
    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    let start = 0;
    for (const group of metadata.row_groups) {
      const end = start + Number(group.num_rows);
      rows += (await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end })).length;
      start = end;
    }
  }
  if (rows === 0) throw new Error('peer read no rows');
  return (performance.now() - started) / 1000;
}

const [file, readsArgument] = process.argv.slice(2);
let peakHeap = 0;
const sampler = setInterval(() => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 20);

const peerSeconds = await peerPass(file!);
const started = performance.now();
const source = await openRowSource(file!);
const { format, rows } = await validateDataset(source, { stage: 'sft' });
const validateSeconds = (performance.now() - started) / 1000;

const reads = Number(readsArgument);
const stream = new DatasetStream(new DatasetSplit(source, format, {}, Int32Array.from({ length: rows }, (_, index) => index)), { seed: 0 });
const readStarted = performance.now();
for (let done = 0; done < reads; done += 64) await stream.next(Math.min(64, reads - done));
const readsPerSecond = reads / ((performance.now() - readStarted) / 1000);
clearInterval(sampler);
peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);

process.stdout.write(JSON.stringify({ rows, peerSeconds, validateSeconds, readsPerSecond, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), peakHeapMb: Math.round(peakHeap / 1e6) }));
