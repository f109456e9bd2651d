/**
 * Turns one raw row (a parsed JSON object or a Parquet record) into a DatasetSample, or stops at the first thing
 * wrong with it: the error says where (`file:line` or `file row N`), which column, what was found and what was
 * expected. Nothing is skipped or coerced silently.
 */
import { DatasetError, describeFound } from './dataset-error.ts';
import { columnsOf, type DatasetFormat, type FormatColumn } from './dataset-format.ts';
import { MESSAGE_ROLES, type DatasetSample, type Message, type Turns } from './sample.ts';

/** Columns the model learns to produce: an empty one teaches nothing, so it is an error. */
const COMPLETION_COLUMNS = new Set<FormatColumn>(['completion', 'chosen', 'rejected']);

/** Which file column holds each TRL column, for files that use other names (`{ prompt: 'question' }`). */
export type ColumnMapping = Partial<Record<FormatColumn, string>>;

/** The file's name for a TRL column. */
export function fileColumn(column: FormatColumn, mapping: ColumnMapping): string {
  return mapping[column] ?? column;
}

/**
 * @example
 * const sample = validateRow({ question: 'What is 2+3?', answer: 5 }, 3, { kind: 'prompt-only', style: 'standard' },
 *   { prompt: 'question' }, 'train.jsonl:4');
 * // { row: 3, kind: 'prompt-only', prompt: 'What is 2+3?', columns: { answer: 5 } }
 */
export function validateRow(raw: unknown, row: number, format: DatasetFormat, mapping: ColumnMapping, where: string): DatasetSample {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DatasetError('DATA_ROW', where, `found ${describeFound(raw)}, expected an object with columns ${columnsOf(format).map((column) => `"${fileColumn(column, mapping)}"`).join(', ')}`);
  }
  const record = raw as Record<string, unknown>;
  const sample: DatasetSample = { row, kind: format.kind, columns: {} };
  const used = new Set<string>();
  for (const column of columnsOf(format)) {
    const name = fileColumn(column, mapping);
    used.add(name);
    const value = turns(record[name], name, format, where);
    if (Array.isArray(value) && COMPLETION_COLUMNS.has(column) && value.every((message) => message.content.length === 0)) {
      throw new DatasetError('DATA_ROW', where, `column "${name}": found messages with empty content only, expected a non-empty ${column}`);
    }
    sample[column === 'messages' ? 'text' : column] = value;
  }
  for (const [name, value] of Object.entries(record)) if (!used.has(name)) sample.columns[name] = value;
  return sample;
}

function turns(value: unknown, column: string, format: DatasetFormat, where: string): Turns {
  const at = `column "${column}"`;
  if (format.style === 'standard') {
    if (typeof value !== 'string') {
      const hint = Array.isArray(value) ? ' (this file is standard: its first row has strings; give every row the same style)' : '';
      throw new DatasetError('DATA_ROW', where, `${at}: found ${describeFound(value)}, expected a string${hint}`);
    }
    if (value.length === 0) throw new DatasetError('DATA_ROW', where, `${at}: found an empty string, expected non-empty text`);
    return value;
  }
  if (!Array.isArray(value)) {
    const hint = typeof value === 'string' ? ' (this file is conversational: its first row has message lists; give every row the same style)' : '';
    throw new DatasetError('DATA_ROW', where, `${at}: found ${describeFound(value)}, expected a list of { "role", "content" } messages${hint}`);
  }
  if (value.length === 0) throw new DatasetError('DATA_ROW', where, `${at}: found an empty message list, expected at least one message`);
  return value.map((message, index) => checkMessage(message, `${at}, message ${index}`, where));
}

function checkMessage(message: unknown, at: string, where: string): Message {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new DatasetError('DATA_ROW', where, `${at}: found ${describeFound(message)}, expected an object { "role", "content" }`);
  }
  const { role, content } = message as Record<string, unknown>;
  if (typeof role !== 'string' || !(MESSAGE_ROLES as readonly string[]).includes(role)) {
    throw new DatasetError('DATA_ROW', where, `${at}: found role ${typeof role === 'string' ? JSON.stringify(role) : describeFound(role)}, expected one of ${MESSAGE_ROLES.join(', ')}`);
  }
  if (typeof content !== 'string') throw new DatasetError('DATA_ROW', where, `${at}: found content ${describeFound(content)}, expected a string`);
  return { role: role as Message['role'], content };
}
