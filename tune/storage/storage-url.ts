import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../../runtime/errors.ts';

/** Where a study database lives: a file path, or `:memory:`. */
export interface SqliteLocation {
  /** Absolute file path, or ':memory:'. */
  readonly filename: string;
  /** The URL as the user wrote it (for messages). */
  readonly url: string;
}

/**
 * Parses a SQLAlchemy-style SQLite URL, the form Optuna users already write:
 * `sqlite:///relative/path.db` (relative to the working directory), `sqlite:////absolute/path.db`,
 * `sqlite:///:memory:`. A bare path is accepted too. Any other scheme is a ConfigError naming `storage`.
 *
 * @example
 * parseStorageUrl('sqlite:///runs/sweeps.db').filename;   // '/cwd/runs/sweeps.db'
 * parseStorageUrl('sqlite:////tmp/study.db').filename;    // '/tmp/study.db'
 */
export function parseStorageUrl(url: string, workingDirectory = process.cwd()): SqliteLocation {
  if (url === ':memory:' || url === 'sqlite://' || url === 'sqlite:///:memory:') return { filename: ':memory:', url };
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  if (!match) {
    if (url.length === 0) throw new ConfigError([{ path: 'storage', message: 'storage must not be empty; use sqlite:///path/to/study.db' }]);
    return { filename: isAbsolute(url) ? url : resolve(workingDirectory, url), url };
  }
  const [, scheme, rest] = match as unknown as [string, string, string];
  if (scheme.toLowerCase() !== 'sqlite' && !scheme.toLowerCase().startsWith('sqlite+')) {
    throw new ConfigError([
      { path: 'storage', message: `only SQLite storage URLs are supported (sqlite:///relative.db or sqlite:////absolute.db); got ${scheme}://` },
    ]);
  }
  if (!rest.startsWith('/')) {
    throw new ConfigError([{ path: 'storage', message: `SQLite URLs have no host: write sqlite:///${rest} (three slashes) for a relative path` }]);
  }
  // SQLAlchemy: everything after the third slash is the path, so `////abs` is absolute and `///rel` is relative.
  const path = decodeURIComponent(rest.slice(1).split('?')[0]!);
  if (path.length === 0) throw new ConfigError([{ path: 'storage', message: `no database file in ${url}; use sqlite:///path/to/study.db` }]);
  if (path === ':memory:') return { filename: ':memory:', url };
  return { filename: isAbsolute(path) ? path : resolve(workingDirectory, path), url };
}
