/**
 * `file://` checkpoint store: the embedded default. Objects are files under a root directory; a write goes to a
 * temporary file in the same directory, is fsynced, then renamed over the target, so a crash never leaves a
 * half-written object under its real name.
 *
 * Local disk dies with the node (a production lesson: spot loss cost the run and the disk), so the first file
 * store of a process logs a warning that says to use `s3://` for anything that matters.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { rootLogger, type Logger } from '../logging.ts';
import { CheckpointError, storeOperation } from './errors.ts';
import { assertValidKey, assertValidPrefix, type CheckpointStore, type StoredObject } from './store.ts';

let warnedAboutLocalDisk = false;

/** Error codes of the file system that may clear up on their own (a full or busy disk, an I/O hiccup). */
const TRANSIENT_CODES = new Set(['ENOSPC', 'EIO', 'EBUSY', 'EAGAIN', 'EMFILE', 'ENFILE', 'ETIMEDOUT']);

export interface FileStoreOptions {
  /** Where the warning about local disk goes (default: the root logger). */
  logger?: Logger;
}

/**
 * @example
 * const store = new FileCheckpointStore('/var/lib/posttrain/checkpoints');
 * await store.put('run-1/step-000100/state.json', new TextEncoder().encode('{}'));
 */
export class FileCheckpointStore implements CheckpointStore {
  readonly uri: string;

  constructor(
    readonly root: string,
    options: FileStoreOptions = {},
  ) {
    this.uri = `file://${root}`;
    if (!warnedAboutLocalDisk) {
      warnedAboutLocalDisk = true;
      (options.logger ?? rootLogger()).warn(
        { store: this.uri },
        'checkpoints are on local disk, which dies with this node; use an s3:// checkpoint URI for runs you cannot lose',
      );
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    assertValidKey(key);
    const target = this.pathOf(key);
    const temporary = join(dirname(target), `.${key.split('/').at(-1)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    await this.attempt('put', key, async () => {
      await mkdir(dirname(target), { recursive: true });
      const handle = await open(temporary, 'w');
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, target);
    }).catch(async (error: unknown) => {
      await rm(temporary, { force: true });
      throw error;
    });
  }

  async get(key: string): Promise<Uint8Array> {
    assertValidKey(key);
    const bytes = await this.attempt('get', key, () => readFile(this.pathOf(key)));
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    assertValidKey(key);
    try {
      const info = await this.attempt('head', key, () => stat(this.pathOf(key)));
      return info.isFile() ? { size: info.size } : undefined;
    } catch (error) {
      if (error instanceof CheckpointError && error.code === 'CHECKPOINT_OBJECT_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    assertValidPrefix(prefix);
    // Walk only the deepest directory the prefix names completely; filter the rest by string prefix.
    const directory = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const found: StoredObject[] = [];
    const walk = async (relativeDirectory: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(join(this.root, relativeDirectory), { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw this.wrap('list', prefix, error);
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const key = relativeDirectory === '' ? entry.name : `${relativeDirectory}/${entry.name}`;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const info = await stat(join(this.root, relativeDirectory, entry.name)).catch(() => undefined);
          if (info) found.push({ key, size: info.size });
        }
      }
    };
    await walk(directory);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.attempt('delete', key, () => rm(this.pathOf(key), { force: true }));
    // Remove directories the delete left empty, up to (not including) the root.
    let directory = dirname(this.pathOf(key));
    while (relative(this.root, directory) !== '' && !relative(this.root, directory).startsWith('..')) {
      try {
        await rmdir(directory);
      } catch {
        break;
      }
      directory = dirname(directory);
    }
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private attempt<T>(operation: string, key: string, action: () => Promise<T>): Promise<T> {
    return storeOperation(action, (error) => this.wrap(operation, key, error));
  }

  private wrap(operation: string, key: string, error: unknown): CheckpointError {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const where = `${this.uri}/${key}`;
    if (code === 'ENOENT' && operation !== 'put' && operation !== 'list') {
      return new CheckpointError('CHECKPOINT_OBJECT_NOT_FOUND', `no object at ${where}`, { path: key, cause: error });
    }
    return new CheckpointError(
      'CHECKPOINT_STORE_FAILED',
      `file store ${operation} ${where} failed: ${code ? `${code}: ` : ''}${(error as Error).message}`,
      { path: key, cause: error, retryable: TRANSIENT_CODES.has(code) },
    );
  }
}
