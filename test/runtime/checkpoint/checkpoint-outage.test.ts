/**
 * The one long test of the checkpoint layer: the S3 server goes away for 30 s (really stopped, connections cut)
 * while training keeps saving, then comes back on the same port.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  CheckpointWriter,
  findLatestVerified,
  loadCheckpoint,
  openCheckpointStore,
  readLatestPointer,
  S3CheckpointStore,
  type CheckpointEvent,
  type SaveOutcome,
} from '../../../runtime/checkpoint/index.ts';
import { LoopbackS3Server } from './s3-server.ts';
import { assertManifestLastOrder, RecordingStore } from './recording-store.ts';

const OUTAGE_MS = 30_000;
const SAVE_EVERY_MS = 5_000;
const partSizeBytes = 5 * 1024 * 1024;
let server: LoopbackS3Server;

beforeAll(async () => {
  server = await LoopbackS3Server.start();
});
afterAll(async () => {
  await server.dispose();
});

function checkpointInput(step: number) {
  return {
    shards: {
      // Above the part size, so the multipart path is what the outage interrupts and what resumes.
      'policy/rank-0/weights.bin': Float32Array.from({ length: (6 * 1024 * 1024) / 4 }, (_, index) => step + index),
      'value/rank-0/weights.bin': Float32Array.from({ length: 1000 }, (_, index) => step - index),
    },
    state: { dataCursor: step * 64 },
  };
}

it('a store that fails for 30 s then recovers: saves are accepted throughout, checkpoints land after recovery, latest is never half-written', async () => {
  const s3 = server.storeOptions({ partSizeBytes, maxAttempts: 2, connectionTimeoutMs: 1_000 });
  const store = new RecordingStore(openCheckpointStore(`s3://${server.bucket}/outage`, { s3 }));
  const events: CheckpointEvent[] = [];
  const writer = new CheckpointWriter({
    store,
    run: 'run',
    keep: 3,
    retryForMs: 120_000,
    initialBackoffMs: 250,
    maxBackoffMs: 2_000,
    onEvent: (event) => events.push(event),
  });

  expect((await writer.save(100, checkpointInput(100)).done).status).toBe('saved');

  await server.stop();
  const outcomes: Promise<SaveOutcome>[] = [];
  const outageStarted = Date.now();
  let step = 200;
  while (Date.now() - outageStarted < OUTAGE_MS) {
    const handle = writer.save(step, checkpointInput(step));
    expect(handle.step).toBe(step);
    outcomes.push(handle.done);
    step += 100;
    await new Promise((resolve) => setTimeout(resolve, SAVE_EVERY_MS));
  }
  const lastStep = step - 100;
  expect(writer.idle).toBe(false);
  await server.restart();

  // While the backlog uploads, an independent reader must always find `latest` pointing at a checkpoint that verifies.
  const observer = new S3CheckpointStore(`s3://${server.bucket}/outage`, server.storeOptions());
  const observed: number[] = [];
  let flushing = true;
  const watching = (async () => {
    while (flushing) {
      const latest = await readLatestPointer(observer, 'run');
      if (latest !== undefined) observed.push((await loadCheckpoint(observer, 'run', latest)).step);
    }
  })();
  await writer.flush();
  flushing = false;
  await watching;

  const settled = await Promise.all(outcomes);
  expect(settled[0]).toMatchObject({ status: 'saved', step: 200 });
  expect((settled[0] as { attempts: number }).attempts).toBeGreaterThan(1);
  expect(settled.at(-1)).toMatchObject({ status: 'saved', step: lastStep });
  expect(settled.slice(1, -1).every((outcome) => outcome.status === 'superseded')).toBe(true);
  expect(events.some((event) => event.type === 'retrying')).toBe(true);
  expect(events.some((event) => event.type === 'failed')).toBe(false);

  expect(observed.length).toBeGreaterThan(0);
  expect(observed.every((each) => [100, 200, lastStep].includes(each))).toBe(true);
  assertManifestLastOrder('run', store.completedPuts, 3);
  expect(await readLatestPointer(observer, 'run')).toBe(lastStep);
  const found = await findLatestVerified(observer, 'run');
  expect(found?.step).toBe(lastStep);
  expect(found?.skipped).toEqual([]);
  const loaded = await loadCheckpoint(observer, 'run', lastStep);
  expect((loaded.shards['policy/rank-0/weights.bin'] as Float32Array)[12345]).toBe(lastStep + 12345);
  await Promise.all([store.close(), observer.close()]);
});
