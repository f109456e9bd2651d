/**
 * A recipe's `data` section -> validated train and eval splits. Every file is read once, whole, by the
 * validation pass before this returns, so a bad row or a format the stage cannot use stops the run before
 * training starts (a DatasetError: the CLI exits 2). Nothing is held in memory but row indices.
 */
import { extname, isAbsolute, resolve } from 'node:path';
import { splitIndices } from '../../models/tasks/seeded.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { DataConfigSchema, type DataConfigInput } from './data-config.ts';
import { DatasetError } from './dataset-error.ts';
import type { DatasetFormat, DatasetStage } from './dataset-format.ts';
import { DatasetSplit } from './dataset-split.ts';
import { JsonlSource } from './jsonl-source.ts';
import { ParquetSource } from './parquet-source.ts';
import type { RowSource } from './row-source.ts';
import { validateDataset } from './validate-dataset.ts';

/** A stage's data, ready to stream. */
export interface LoadedDataset {
  /** The training file's format. */
  format: DatasetFormat;
  /** Training samples. */
  train: DatasetSplit;
  /** Eval samples (the eval file, or the held-out fraction of train); undefined when there is neither. */
  eval: DatasetSplit | undefined;
}

/**
 * @example
 * const data = await loadDataset({ train: './data/prompts.jsonl', evalFraction: 0.1 },
 *   { stage: 'grpo', baseDir: dirname(recipeFile), seed: 0 });
 * const stream = new DatasetStream(data.train, { seed: 0 });
 */
export async function loadDataset(input: DataConfigInput, options: { stage: DatasetStage; baseDir: string; seed: number }): Promise<LoadedDataset> {
  const parsed = DataConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => ({ path: ['data', ...issue.path].join('.'), message: issue.message })));
  const config = parsed.data;
  const mapping = config.columns;
  const trainSource = await openRowSource(resolvePath(config.train, options.baseDir), config.train);
  const { format } = await validateDataset(trainSource, { mapping, stage: options.stage });
  if (config.eval !== undefined) {
    const evalSource = await openRowSource(resolvePath(config.eval, options.baseDir), config.eval);
    const evalFormat = (await validateDataset(evalSource, { mapping, stage: options.stage })).format;
    return { format, train: whole(trainSource, format, mapping), eval: whole(evalSource, evalFormat, mapping) };
  }
  if (config.evalFraction === 0) return { format, train: whole(trainSource, format, mapping), eval: undefined };
  if (trainSource.length < 2) {
    throw new DatasetError('DATA_CONFIG', 'data.evalFraction', `${config.train} has ${trainSource.length} row, too few to hold out an eval share; give an eval file or set evalFraction to 0`);
  }
  const split = splitIndices(trainSource.length, options.seed, config.evalFraction);
  const ascending = (rows: Int32Array) => Int32Array.from(rows).sort();
  return {
    format,
    train: new DatasetSplit(trainSource, format, mapping, ascending(split.train)),
    eval: new DatasetSplit(trainSource, format, mapping, ascending(split.eval)),
  };
}

/** A `.jsonl` or `.parquet` file as rows; `shown` is the name used in messages (as the user wrote it). */
export async function openRowSource(path: string, shown = path): Promise<RowSource> {
  const extension = extname(path).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return JsonlSource.open(path, shown);
  if (extension === '.parquet') return ParquetSource.open(path, shown);
  throw new DatasetError('DATA_FILE', shown, `found a "${extension || 'extension-less'}" file, expected .jsonl (one JSON object per line) or .parquet`);
}

function resolvePath(file: string, baseDir: string): string {
  return isAbsolute(file) ? file : resolve(baseDir, file);
}

function whole(source: RowSource, format: DatasetFormat, mapping: DatasetSplit['mapping']): DatasetSplit {
  return new DatasetSplit(source, format, mapping, Int32Array.from({ length: source.length }, (_, index) => index));
}
