import fs from 'node:fs';
import { CollectiveError } from '../errors.ts';

/**
 * The shared-memory files of the `shm` backend. Each rank owns one file in a tmpfs directory (`/dev/shm` by
 * default) that it writes and its peers read through positional reads: with no `mmap` in Node, `pwrite`/`pread` on
 * tmpfs are plain memory copies into and out of the page cache (about 4 GB/s each here).
 *
 * Files are unlinked as soon as every rank has opened them, so a crashed process leaves nothing behind: the kernel
 * frees the memory when the last descriptor closes.
 */
export class ShmFile {
  private capacityBytes = 0;

  private constructor(
    readonly path: string,
    readonly fd: number,
    private readonly writable: boolean,
  ) {}

  /** Create this rank's file (owner only; mode 0600). */
  static create(path: string): ShmFile {
    return new ShmFile(path, fs.openSync(path, 'wx+', 0o600), true);
  }

  /** Open a peer's file for reading. */
  static open(path: string): ShmFile {
    return new ShmFile(path, fs.openSync(path, 'r'), false);
  }

  /**
   * Make room for `bytes` bytes, checking free space first so that a small /dev/shm (Docker's default is 64 MB)
   * fails with a message saying so rather than half-way through an operation.
   */
  ensureCapacity(bytes: number, directory: string, operation: string): void {
    if (!this.writable || bytes <= this.capacityBytes) return;
    const stats = fs.statfsSync(directory);
    const freeBytes = stats.bavail * stats.bsize;
    const needed = bytes - this.capacityBytes;
    if (needed > freeBytes) throw shmFullError(directory, needed, freeBytes, operation);
    fs.ftruncateSync(this.fd, bytes);
    this.capacityBytes = bytes;
  }

  /** Write `bytes` at byte `position`. */
  write(bytes: Uint8Array, position: number, directory: string, operation: string): void {
    let written = 0;
    try {
      while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written, bytes.length - written, position + written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw shmFullError(directory, bytes.length - written, 0, operation);
      throw error;
    }
  }

  /** Fill `target` from byte `position`; a short file means the peer broke the protocol. */
  read(target: Uint8Array, position: number): void {
    let filled = 0;
    while (filled < target.length) {
      const count = fs.readSync(this.fd, target, filled, target.length - filled, position + filled);
      if (count === 0) {
        throw new CollectiveError('COLLECTIVE_PROTOCOL', `shared-memory file ${this.path} ends at byte ${position + filled}, expected ${position + target.length}`);
      }
      filled += count;
    }
  }

  unlink(): void {
    fs.rmSync(this.path, { force: true });
  }

  /** Close the descriptor once (a second close could hit a descriptor number the process has reused). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private closed = false;
}

function shmFullError(directory: string, neededBytes: number, freeBytes: number, operation: string): CollectiveError {
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return new CollectiveError(
    'COLLECTIVE_SHM_FULL',
    `${operation} needs ${mib(neededBytes)} more in ${directory}, which has ${mib(freeBytes)} free. Docker gives containers ` +
      '64 MB of /dev/shm by default: start the container with --shm-size=2g (Kubernetes: a memory-backed emptyDir on ' +
      '/dev/shm), or pass shmDir with a larger tmpfs to createUniqueId.',
    { operation },
  );
}

/** Views of a Float32Array's bytes, without copying. */
export function bytesOf(array: Float32Array, start = 0, end = array.length): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset + start * 4, (end - start) * 4);
}
