import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../runtime/checkpoint/errors.ts';
import { openCheckpointStore } from '../../../runtime/checkpoint/open-store.ts';
import { S3CheckpointStore } from '../../../runtime/checkpoint/s3-store.ts';
import { LoopbackS3Server } from './s3-server.ts';
import { describeStoreConformance } from './store-conformance.ts';
import { rejectionOf } from '../../expect-error.ts';

const partSizeBytes = 5 * 1024 * 1024;
let server: LoopbackS3Server;
let storeCount = 0;

beforeAll(async () => {
  server = await LoopbackS3Server.start();
});
afterAll(async () => {
  await server.dispose();
});

describeStoreConformance('s3:// (s3rver on loopback)', {
  open: async () => openCheckpointStore(`s3://${server.bucket}/conformance-${storeCount++}`, { s3: server.storeOptions({ partSizeBytes }) }),
  partSizeBytes,
});

describe('S3CheckpointStore', () => {
  it('uploads an object above the part size as a multipart upload', async () => {
    const store = new S3CheckpointStore(`s3://${server.bucket}/multipart`, server.storeOptions({ partSizeBytes }));
    const before = server.requests.length;
    await store.put('big.bin', new Uint8Array(12 * 1024 * 1024));
    const requests = server.requests.slice(before);
    expect(requests.filter((request) => /^PUT .*partNumber=/.test(request))).toHaveLength(3);
    expect(requests.some((request) => /^POST .*uploadId=/.test(request))).toBe(true);
    await store.close();
  });

  it('keeps stores with different prefixes apart in one bucket', async () => {
    const first = new S3CheckpointStore(`s3://${server.bucket}/tenant-a/`, server.storeOptions());
    const second = new S3CheckpointStore(`s3://${server.bucket}/tenant-b`, server.storeOptions());
    await first.put('run/latest', new TextEncoder().encode('a'));
    await second.put('run/latest', new TextEncoder().encode('bb'));
    expect(await first.list('')).toEqual([{ key: 'run/latest', size: 1 }]);
    expect(await second.list('run/')).toEqual([{ key: 'run/latest', size: 2 }]);
    expect(first.uri).toBe(`s3://${server.bucket}/tenant-a`);
    await Promise.all([first.close(), second.close()]);
  });

  it('fails fast with the real cause on a permanent error (no such bucket)', async () => {
    const store = new S3CheckpointStore('s3://no-such-bucket/x', server.storeOptions({ maxAttempts: 5 }));
    const error = await rejectionOf(store.put('run/latest', new Uint8Array(1)), CheckpointError);
    expect(error.code).toBe('CHECKPOINT_STORE_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('NoSuchBucket');
    expect(error.message).toContain('after 1 attempt');
    expect(error.message).toContain('s3://no-such-bucket/x/run/latest');
    await store.close();
  });

  it('retries a connection failure with backoff, then reports it as transient with its cause', async () => {
    const down = await LoopbackS3Server.start();
    await down.stop();
    const store = new S3CheckpointStore(`s3://${down.bucket}/x`, down.storeOptions({ maxAttempts: 3 }));
    const error = await rejectionOf(store.put('run/latest', new Uint8Array(1)), CheckpointError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('after 3 attempts');
    await store.close();
    await down.dispose();
  });

  it('rejects a part size below the S3 minimum, naming the field', () => {
    expect(() => new S3CheckpointStore('s3://bucket/x', { partSizeBytes: 1024 })).toThrow(/partSizeBytes must be at least 5242880/);
  });
});
