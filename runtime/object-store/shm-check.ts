import { statfsSync } from 'node:fs';
import { ObjectStoreError } from '../runtime-errors.ts';

/** Free and total bytes of the file system holding `directory` (injectable for tests). */
export type StatFs = (directory: string) => { freeBytes: number; totalBytes: number };

export const defaultStatFs: StatFs = (directory) => {
  const stats = statfsSync(directory);
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
};

/** A `--shm-size` value with some headroom: `80m`, `10g`. */
function dockerSize(bytes: number): string {
  return bytes < 2 ** 30 ? `${Math.ceil(bytes / 2 ** 20)}m` : `${Math.ceil(bytes / 2 ** 30)}g`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

/**
 * The store keeps up to `memoryBytes` of objects in shared memory. Docker gives containers a 64 MB `/dev/shm`,
 * and a store that writes past it dies with SIGBUS, which looks like a segfault (a production lesson). So the
 * size is checked before anything starts, and the error says what to change.
 *
 * @example
 * checkSharedMemory({ directory: '/dev/shm', memoryBytes: 2 ** 30 });
 */
export function checkSharedMemory(options: { directory: string; memoryBytes: number; statfs?: StatFs }): { freeBytes: number; totalBytes: number } {
  let stats: { freeBytes: number; totalBytes: number };
  try {
    stats = (options.statfs ?? defaultStatFs)(options.directory);
  } catch (error) {
    throw new ObjectStoreError(
      'SHM_UNAVAILABLE',
      `the object store's shared-memory directory ${options.directory} cannot be used (${(error as Error).message}); ` +
        'mount a tmpfs there (Docker does at /dev/shm; on Kubernetes add an emptyDir with medium: Memory) or set runtime.objectStore.directory',
      'runtime.objectStore.directory',
    );
  }
  if (stats.freeBytes < options.memoryBytes) {
    const wanted = formatBytes(options.memoryBytes);
    throw new ObjectStoreError(
      'SHM_TOO_SMALL',
      `${options.directory} has ${formatBytes(stats.freeBytes)} free (of ${formatBytes(stats.totalBytes)}) but the object store is set to keep ` +
        `${wanted} of objects in shared memory (runtime.objectStore.memoryBytes). Raise /dev/shm: ` +
        `\`docker run --shm-size=${dockerSize(options.memoryBytes * 1.25)}\` (docker compose: shm_size), or on Kubernetes mount an emptyDir ` +
        'with medium: Memory (and a sizeLimit) at /dev/shm; or lower runtime.objectStore.memoryBytes, and objects beyond it ' +
        'spill to runtime.objectStore.spillDirectory on disk.',
      'runtime.objectStore.memoryBytes',
    );
  }
  return stats;
}
