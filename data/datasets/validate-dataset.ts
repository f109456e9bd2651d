/**
 * The pass that runs before training: it recognises the file's format from its columns and its first row, checks
 * that the stage can train on it, then reads every row in order (a batch at a time, so memory stays flat) and
 * stops at the first bad one. A run that starts has a dataset with no bad rows.
 */
import { DatasetError } from './dataset-error.ts';
import { detectKind, requireStageKind, type DatasetFormat, type DatasetStage, type FormatColumn } from './dataset-format.ts';
import type { RowSource } from './row-source.ts';
import { fileColumn, validateRow, type ColumnMapping } from './validate-row.ts';

/** Rows read per step of the pass: enough to amortise a read, small enough to keep memory flat. */
const VALIDATION_BATCH = 4096;

/** What the validation pass learnt about a file. */
export interface ValidatedDataset {
  /** The file's format. */
  format: DatasetFormat;
  /** Every row is valid; this many. */
  rows: number;
}

/**
 * @example
 * const { format } = await validateDataset(await JsonlSource.open('pairs.jsonl'), { stage: 'dpo' });
 * // { kind: 'preference', style: 'standard' }, or a DatasetError naming the first bad row
 */
export async function validateDataset(source: RowSource, options: { mapping?: ColumnMapping; stage?: DatasetStage } = {}): Promise<ValidatedDataset> {
  const mapping = options.mapping ?? {};
  const format = await detectFormat(source, mapping);
  if (options.stage !== undefined) requireStageKind(options.stage, format.kind, source.file);
  for (let start = 0; start < source.length; start += VALIDATION_BATCH) {
    const rows = await source.readRange(start, VALIDATION_BATCH);
    rows.forEach((raw, offset) => validateRow(raw, start + offset, format, mapping, source.location(start + offset)));
  }
  return { format, rows: source.length };
}

/** The kind from the column names (renamed by the mapping), the style from the first row's values. */
export async function detectFormat(source: RowSource, mapping: ColumnMapping): Promise<DatasetFormat> {
  if (source.length === 0) throw new DatasetError('DATA_FILE', source.file, 'found no rows, expected at least one');
  for (const [column, name] of Object.entries(mapping)) {
    if (!source.columns.includes(name)) {
      throw new DatasetError('DATA_CONFIG', `data.columns.${column}`, `maps "${column}" to "${name}", but ${source.file} has no such column (its columns: ${source.columns.join(', ')})`);
    }
  }
  const renamed = new Map<string, string>(Object.entries(mapping).map(([column, name]) => [name, column]));
  const columns = source.columns.map((name) => renamed.get(name) ?? name);
  const kind = detectKind(columns, source.file);
  const [first] = await source.readRange(0, 1);
  const firstColumn: FormatColumn = kind === 'language-modeling' ? (columns.includes('text') ? 'text' : 'messages') : kind === 'implicit-prompt-preference' ? 'chosen' : 'prompt';
  const value = first !== null && typeof first === 'object' ? (first as Record<string, unknown>)[fileColumn(firstColumn, mapping)] : undefined;
  const style = firstColumn === 'messages' || Array.isArray(value) ? 'conversational' : 'standard';
  return { kind, style };
}
