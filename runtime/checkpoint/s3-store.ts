/**
 * `s3://bucket/prefix` checkpoint store over `@aws-sdk/client-s3`: AWS S3 itself, or any S3-speaking server
 * (MinIO, R2, Ceph, s3rver) through `endpoint` + `forcePathStyle`.
 *
 * - Credentials: the SDK's standard chain (environment, shared config/SSO, web identity, instance/container
 *   metadata) unless `credentials` is given.
 * - Objects larger than `partSizeBytes` go up as multipart uploads (`@aws-sdk/lib-storage` Upload), parts in
 *   parallel; a failed multipart upload is aborted so no orphaned parts are billed.
 * - Retries: the SDK's standard mode (exponential backoff with jitter, up to `maxAttempts`) on what it classifies
 *   as retryable: 5xx, throttling, timeouts, connection errors. Anything else fails at once; the final error
 *   carries the real cause (S3 error name, HTTP status, message) and whether it is transient.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CheckpointError, storeOperation } from './errors.ts';
import { assertValidKey, assertValidPrefix, type CheckpointStore, type StoredObject } from './store.ts';

/** S3's smallest allowed part (except the last). */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;

export interface S3StoreOptions {
  /** Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000` (default: AWS for the region). */
  endpoint?: string;
  /** Region (default: the SDK's chain; `us-east-1` when only an endpoint is given and nothing else says). */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most self-hosted servers need (default false). */
  forcePathStyle?: boolean;
  /** Explicit credentials; default: the SDK's standard provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Objects above this size use multipart upload with parts of this size (default 8 MiB, at least 5 MiB). */
  partSizeBytes?: number;
  /** Parts uploaded in parallel (default 4). */
  partConcurrency?: number;
  /** Attempts per request, retries included (default 5). */
  maxAttempts?: number;
  /** Time allowed to open a connection (default 5 s). */
  connectionTimeoutMs?: number;
  /** Time allowed for a request without progress (default 60 s). */
  requestTimeoutMs?: number;
  /** Request checksums: the SDK default `when-supported`, or `when-required` for servers that reject them. */
  checksums?: 'when-supported' | 'when-required';
}

/** Errors the SDK names for throttling or a temporary server state. */
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);
/** Node network error codes. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * @example
 * const store = new S3CheckpointStore('s3://my-bucket/checkpoints', { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
 * await store.put('run-1/step-000100/policy/rank-0/weights.bin', bytes);
 */
export class S3CheckpointStore implements CheckpointStore {
  readonly uri: string;
  readonly bucket: string;
  /** Key prefix inside the bucket, without a trailing `/` ('' for the bucket root). */
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly partSizeBytes: number;
  private readonly partConcurrency: number;

  constructor(uri: string, options: S3StoreOptions = {}) {
    const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
    if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(match[1]!)) {
      throw new CheckpointError(
        'CHECKPOINT_URI_INVALID',
        `${JSON.stringify(uri)} is not an S3 URI: expected s3://bucket/optional/prefix with a bucket name of 3-63 ` +
          'lower-case letters, digits, "." and "-"',
        { path: 'checkpoint.uri' },
      );
    }
    this.bucket = match[1]!;
    this.prefix = (match[2] ?? '').replace(/\/+$/, '');
    if (this.prefix !== '') assertValidKey(this.prefix, 'checkpoint.uri prefix');
    this.uri = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.partSizeBytes = options.partSizeBytes ?? 8 * 1024 * 1024;
    if (!(this.partSizeBytes >= MIN_PART_SIZE_BYTES)) {
      throw new CheckpointError(
        'CHECKPOINT_INPUT_INVALID',
        `partSizeBytes must be at least ${MIN_PART_SIZE_BYTES} (5 MiB, the S3 minimum), got ${options.partSizeBytes}`,
        { path: 'checkpoint.s3.partSizeBytes' },
      );
    }
    this.partConcurrency = options.partConcurrency ?? 4;
    const checksums = options.checksums === 'when-required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (options.endpoint ? 'us-east-1' : undefined);
    const config: S3ClientConfig = {
      forcePathStyle: options.forcePathStyle ?? false,
      maxAttempts: options.maxAttempts ?? 5,
      retryMode: 'standard',
      requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 5_000, requestTimeout: options.requestTimeoutMs ?? 60_000 },
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(region === undefined ? {} : { region }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    };
    this.client = new S3Client(config);
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    assertValidKey(key);
    const Key = this.fullKey(key);
    await this.attempt('put', key, async () => {
      if (body.byteLength <= this.partSizeBytes) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.byteLength }));
        return;
      }
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: body, ContentLength: body.byteLength },
        partSize: this.partSizeBytes,
        queueSize: this.partConcurrency,
        leavePartsOnError: false,
      });
      await upload.done();
    });
  }

  async get(key: string): Promise<Uint8Array> {
    assertValidKey(key);
    return this.attempt('get', key, async () => {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      if (!response.Body) throw new Error('GetObject returned no body');
      return response.Body.transformToByteArray();
    });
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    assertValidKey(key);
    try {
      return await this.attempt('head', key, async () => {
        const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
        return { size: response.ContentLength ?? 0 };
      });
    } catch (error) {
      if (error instanceof CheckpointError && error.code === 'CHECKPOINT_OBJECT_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    assertValidPrefix(prefix);
    return this.attempt('list', prefix, async () => {
      const found: StoredObject[] = [];
      const root = this.prefix ? `${this.prefix}/` : '';
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: root + prefix })) {
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          found.push({ key: object.Key.slice(root.length), size: object.Size ?? 0 });
        }
      }
      return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    });
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.attempt('delete', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private fullKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private attempt<T>(operation: string, key: string, action: () => Promise<T>): Promise<T> {
    return storeOperation(action, (error) => this.wrap(operation, key, error));
  }

  private wrap(operation: string, key: string, error: unknown): CheckpointError {
    const details = error as { name?: string; code?: string; message?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number; attempts?: number } };
    const status = details.$metadata?.httpStatusCode;
    const where = `${this.uri}/${key}`;
    const missing = status === 404 || details.name === 'NoSuchKey' || details.name === 'NotFound';
    if ((operation === 'get' || operation === 'head') && missing && details.name !== 'NoSuchBucket') {
      return new CheckpointError('CHECKPOINT_OBJECT_NOT_FOUND', `no object at ${where}`, { path: key, cause: error });
    }
    const retryable =
      (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
      Boolean(details.$retryable) ||
      TRANSIENT_NAMES.has(details.name ?? '') ||
      NETWORK_CODES.has(details.code ?? '');
    const cause = [details.name, details.code && details.code !== details.name ? details.code : undefined, status ? `HTTP ${status}` : undefined]
      .filter(Boolean)
      .join(', ');
    const attempts = details.$metadata?.attempts;
    return new CheckpointError(
      'CHECKPOINT_STORE_FAILED',
      `S3 ${operation} ${where} failed${attempts ? ` after ${attempts} attempt${attempts === 1 ? '' : 's'}` : ''}: ` +
        `${cause ? `${cause}: ` : ''}${details.message ?? String(error)}` +
        (retryable ? ' (transient; it may succeed later)' : ''),
      { path: key, cause: error, retryable },
    );
  }
}
