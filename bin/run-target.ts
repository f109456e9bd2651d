/**
 * What `recipe status` and `recipe report` were pointed at: a run directory (one trainer's run), a recipe's
 * directory (one run directory per stage), a directory of runs, or a sweep database (`sqlite:///runs/sweeps.db` or
 * a path to the .db file). Anything else is the user's mistake: a ConfigError naming the argument (exit 2).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, PosttrainError } from '../runtime/errors.ts';
import { listStudies, runDirectoryKind } from '../observe/index.ts';
import { parseStorageUrl } from '../tune/storage/storage-url.ts';

export type RunTarget =
  | { kind: 'run' | 'pipeline' | 'runs-directory'; path: string }
  | { kind: 'sweep'; path: string; studies: string[] };

const SQLITE_HEADER = 'SQLite format 3\u0000';

export function resolveRunTarget(argument: string, what: 'status' | 'report'): RunTarget {
  if (/^sqlite(\+\w+)?:/i.test(argument) || /\.(db|sqlite3?)$/i.test(argument)) return sweepTarget(argument);
  const target = path.resolve(argument);
  if (!fs.existsSync(target)) {
    throw new ConfigError([{ path: 'target', message: `nothing at ${target}: give a run directory (runs/<name>), a recipe's directory or a sweep database (sqlite:///runs/sweeps.db)` }]);
  }
  if (fs.statSync(target).isFile()) {
    if (isSqliteFile(target)) return sweepTarget(target);
    throw new ConfigError([{ path: 'target', message: `${target} is a file but not a SQLite sweep database; give a run directory or a sweep database` }]);
  }
  const kind = runDirectoryKind(target);
  if (kind === 'run' || kind === 'pipeline') return { kind, path: target };
  if (kind === 'runs' && what === 'status') return { kind: 'runs-directory', path: target };
  throw new ConfigError([
    {
      path: 'target',
      message:
        kind === 'runs'
          ? `${target} is a directory of runs; name one of them (recipe status ${argument} lists them)`
          : `${target} holds no run: a run directory has metrics.jsonl, config.json or session.json, a recipe's directory has one such directory per stage`,
    },
  ]);
}

function sweepTarget(argument: string): RunTarget {
  const { filename } = parseStorageUrl(argument);
  if (filename === ':memory:') throw new ConfigError([{ path: 'target', message: `an in-memory study cannot be read from another process; give the sweep's database file` }]);
  if (!fs.existsSync(filename)) throw new ConfigError([{ path: 'target', message: `no sweep database at ${filename}` }]);
  if (!isSqliteFile(filename)) throw new ConfigError([{ path: 'target', message: `${filename} is not a SQLite database` }]);
  let studies: string[];
  try {
    studies = listStudies(filename);
  } catch (error) {
    throw new ConfigError([{ path: 'target', message: `${filename} is not an Optuna study database (${(error as Error).message})` }]);
  }
  if (studies.length === 0) throw new ConfigError([{ path: 'target', message: `${filename} holds no study yet` }]);
  return { kind: 'sweep', path: filename, studies };
}

/** The study to read: the one named (it must exist), or the only one. */
export function pickStudy(target: Extract<RunTarget, { kind: 'sweep' }>, study: string | undefined): string | undefined {
  if (study !== undefined && !target.studies.includes(study)) {
    throw new ConfigError([{ path: '--study', message: `no study "${study}" in ${target.path}; studies: ${target.studies.join(', ')}` }]);
  }
  return study;
}

function isSqliteFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(16);
    return fs.readSync(fd, header, 0, 16, 0) === 16 && header.toString('latin1') === SQLITE_HEADER;
  } finally {
    fs.closeSync(fd);
  }
}

/** A PosttrainError raised while reading what the user pointed at (a malformed file) is also their input's fault. */
export function asInputError(error: unknown): unknown {
  if (error instanceof PosttrainError && !(error instanceof ConfigError) && /_(NOT_FOUND|INVALID|AMBIGUOUS)$/.test(error.code)) {
    return new ConfigError([{ path: error.path ?? 'target', message: error.message }]);
  }
  return error;
}
