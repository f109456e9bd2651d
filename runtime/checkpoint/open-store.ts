import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError } from './errors.ts';
import { FileCheckpointStore, type FileStoreOptions } from './file-store.ts';
import { S3CheckpointStore, type S3StoreOptions } from './s3-store.ts';
import type { CheckpointStore } from './store.ts';

export interface OpenStoreOptions {
  /** Options of `s3://` stores (endpoint, path style, part size, retries...). */
  s3?: S3StoreOptions;
  /** Options of `file://` stores. */
  file?: FileStoreOptions;
}

/**
 * Opens the checkpoint store a URI names: `s3://bucket/prefix` or `file:///absolute/dir` (`file://relative/dir` is
 * taken relative to the working directory).
 *
 * @example
 * const store = openCheckpointStore('s3://ckpt/runs', { s3: { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true } });
 * const local = openCheckpointStore('file:///tmp/posttrain-checkpoints');
 */
export function openCheckpointStore(uri: string, options: OpenStoreOptions = {}): CheckpointStore {
  if (uri.startsWith('s3://')) return new S3CheckpointStore(uri, options.s3);
  if (uri.startsWith('file://')) {
    const rest = uri.slice('file://'.length);
    const path = rest.startsWith('/') ? fileURLToPath(uri) : resolve(rest);
    if (!isAbsolute(path) || rest === '') {
      throw new CheckpointError('CHECKPOINT_URI_INVALID', `${JSON.stringify(uri)} names no directory`, { path: 'checkpoint.uri' });
    }
    return new FileCheckpointStore(path, options.file);
  }
  throw new CheckpointError(
    'CHECKPOINT_URI_INVALID',
    `unsupported checkpoint URI ${JSON.stringify(uri)}: use s3://bucket/prefix or file:///absolute/directory`,
    { path: 'checkpoint.uri' },
  );
}
