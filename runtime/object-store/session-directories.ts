import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.ts';
import { defaultObjectStoreBytes, type ObjectStoreOptions } from '../runtime-options.ts';
import { checkSharedMemory } from './shm-check.ts';

/** The directories one runtime process (embedded driver, cluster node agent, cluster driver) keeps objects and sockets in. */
export interface SessionDirectories {
  shm: string;
  spill: string;
  /** Socket paths must stay under ~100 bytes, so they live in a short directory of their own. */
  sockets: string;
  memoryBytes: number;
  /** Remove all three (also run at process exit). */
  remove(): void;
}

/**
 * Check `/dev/shm` and make the session's directories (`<prefix><pid>-XXXXXX` in shared memory and in the spill
 * directory). Directories of earlier sessions whose process is gone are removed first; everything this makes is
 * removed by `remove()`, at process exit, or by the next start after a crash.
 *
 * @example
 * const directories = createSessionDirectories(options.objectStore ?? {}, 'posttrain-session-', logger);
 */
export function createSessionDirectories(store: ObjectStoreOptions, prefix: string, logger: Logger): SessionDirectories {
  // macOS and Windows have no /dev/shm: there the OS temp directory (page-cached files) stands in, with a warning.
  const shmRoot = store.directory ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  if (store.directory === undefined && shmRoot !== '/dev/shm') {
    logger.warn({ directory: shmRoot }, `no /dev/shm on this system: the object store keeps objects in ${shmRoot} instead`);
  }
  const memoryBytes = store.memoryBytes ?? defaultObjectStoreBytes();
  if (!(memoryBytes >= 0)) throw new ConfigError([{ path: 'objectStore.memoryBytes', message: `must be >= 0, got ${memoryBytes}` }]);
  removeStaleSessions(shmRoot, prefix);
  checkSharedMemory({ directory: shmRoot, memoryBytes, ...(store.statfs ? { statfs: store.statfs } : {}) });
  const session = `${prefix}${process.pid}-`;
  const shm = mkdtempSync(join(shmRoot, session));
  const spillRoot = store.spillDirectory ?? tmpdir();
  mkdirSync(spillRoot, { recursive: true });
  removeStaleSessions(spillRoot, prefix);
  const spill = mkdtempSync(join(spillRoot, session));
  const sockets = mkdtempSync(join(tmpdir(), 'pt-'));
  const directories = [shm, spill, sockets];
  const remove = () => {
    process.removeListener('exit', remove);
    directories.forEach((directory) => rmSync(directory, { recursive: true, force: true }));
  };
  process.once('exit', remove);
  return { shm, spill, sockets, memoryBytes, remove };
}

/** Remove session directories (`<prefix><pid>-...`) left by processes that died without shutting down (their pid is gone). */
export function removeStaleSessions(root: string, prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const match = /^(\d+)-/.exec(entry.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
}
