/**
 * A dataset the user gave cannot be used: a file that is missing or unreadable, a row that is malformed, or a
 * format the stage cannot train on. It is a ConfigError (the CLI prints it plainly and exits 2) whose path is
 * where the problem is (`train.jsonl:12`, `train.parquet row 7`, or the config field) and whose message says what
 * was found and what was expected, so the user can fix the file before any training starts.
 */
import { ConfigError } from '../../runtime/errors.ts';

/** What went wrong, as a stable code: callers and tests branch on it, never on the message. */
export type DatasetErrorCode =
  /** The file is missing, unreadable, or of a kind we do not read (only .jsonl and .parquet). */
  | 'DATA_FILE'
  /** One row is malformed: bad JSON, a missing column, a wrong type, an empty value, a bad message role. */
  | 'DATA_ROW'
  /** The file's columns are in no TRL format, or in one the stage cannot train on. */
  | 'DATA_FORMAT'
  /** A column mapping, split or cursor in the data config is wrong. */
  | 'DATA_CONFIG';

/**
 * @example
 * throw new DatasetError('DATA_ROW', 'train.jsonl:12', 'column "completion": found "", expected a non-empty string');
 */
export class DatasetError extends ConfigError {
  override readonly code: DatasetErrorCode;

  constructor(code: DatasetErrorCode, where: string, message: string) {
    super([{ path: where, message }]);
    this.code = code;
  }
}

/** How a value found in a row reads in an error message: its JSON, cut short, or its type when it has none. */
export function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing (the column is absent)';
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `${value}`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  const kind = value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  return `${kind} ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}
