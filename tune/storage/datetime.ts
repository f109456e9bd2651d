/**
 * Optuna stores `datetime.now()` (local time, no zone) through SQLAlchemy, whose SQLite format is
 * `YYYY-MM-DD HH:MM:SS.ffffff`. Heartbeats are SQLite's `CURRENT_TIMESTAMP` instead: UTC, whole seconds.
 */

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/**
 * The current local time in Optuna's text form, with microseconds.
 *
 * @example
 * optunaNow();  // '2026-11-22 02:16:37.401783'
 */
export function optunaNow(): string {
  const epochMicroseconds = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return formatOptunaDatetime(new Date(Math.floor(epochMicroseconds / 1000)), epochMicroseconds % 1000);
}

/** Formats a date in local time the way SQLAlchemy writes Optuna's DATETIME columns. */
export function formatOptunaDatetime(date: Date, extraMicroseconds = 0): string {
  const day = `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return `${day} ${time}.${pad(date.getMilliseconds() * 1000 + extraMicroseconds, 6)}`;
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Parses a local-time DATETIME column (microseconds are kept to the millisecond). */
export function parseOptunaDatetime(text: string | null | undefined): Date | undefined {
  if (!text) return undefined;
  const match = DATETIME.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hours, minutes, seconds, fraction] = match;
  const milliseconds = Math.floor(Number((fraction ?? '0').padEnd(6, '0')) / 1000);
  return new Date(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes), Number(seconds), milliseconds);
}

/** Parses a UTC `CURRENT_TIMESTAMP` text (heartbeats) into epoch milliseconds. */
export function parseUtcTimestamp(text: string): number {
  const match = DATETIME.exec(text);
  if (!match) return NaN;
  const [, year, month, day, hours, minutes, seconds, fraction] = match;
  const milliseconds = Math.floor(Number((fraction ?? '0').padEnd(6, '0')) / 1000);
  return Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes), Number(seconds), milliseconds);
}
