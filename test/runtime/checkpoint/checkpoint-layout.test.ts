import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRetention,
  CheckpointError,
  CheckpointWriter,
  discardCheckpointsAfter,
  findLatestVerified,
  listCheckpoints,
  loadCheckpoint,
  loadLatestVerified,
  openCheckpointStore,
  readLatestPointer,
  type CheckpointEvent,
  type CheckpointProblem,
  type CheckpointStore,
} from '../../../runtime/checkpoint/index.ts';
import { LoopbackS3Server } from './s3-server.ts';
import { assertManifestLastOrder, RecordingStore } from './recording-store.ts';

let server: LoopbackS3Server;
let fileRoot: string;
let count = 0;

beforeAll(async () => {
  server = await LoopbackS3Server.start();
  fileRoot = await mkdtemp(join(tmpdir(), 'posttrain-checkpoints-'));
});
afterAll(async () => {
  await server.dispose();
  await rm(fileRoot, { recursive: true, force: true });
});

/** Deterministic shards of a PPO-like checkpoint: two roles, weights + optimizer, float32. */
function shardsFor(step: number, parameters = 1000): Record<string, Float32Array | Uint8Array> {
  const weights = (role: number) => Float32Array.from({ length: parameters }, (_, index) => Math.sin(step * 1000 + role * 7 + index));
  return {
    'policy/rank-0/weights.bin': weights(1),
    'policy/rank-0/optimizer.bin': weights(2),
    'value/rank-0/weights.bin': weights(3),
    'value/rank-0/optimizer.bin': Uint8Array.from({ length: 64 }, (_, index) => (step + index) % 256),
  };
}
const stateFor = (step: number) => ({ rng: [step, 2, 3, 4], dataCursor: step * 64, klController: { beta: 0.05 }, trialId: null, config: { seed: 1 } });

async function flipByte(store: CheckpointStore, key: string): Promise<void> {
  const bytes = (await store.get(key)).slice();
  bytes[bytes.length >> 1]! ^= 0xff;
  await store.put(key, bytes);
}

const stores: [string, () => CheckpointStore][] = [
  ['s3://', () => openCheckpointStore(`s3://${server.bucket}/layout-${count++}`, { s3: server.storeOptions({ maxAttempts: 2 }) })],
  ['file://', () => openCheckpointStore(`file://${join(fileRoot, `layout-${count++}`)}`)],
];

describe.each(stores)('checkpoint layout on %s', (_name, open) => {
  it('save -> list -> load round-trips shards (as their typed arrays) and state; manifest last, then latest', async () => {
    const store = new RecordingStore(open());
    const writer = new CheckpointWriter({ store, run: 'run-a', keep: 10 });
    const live = shardsFor(100);
    const handle = writer.save(100, { shards: live, state: stateFor(100) });
    // The snapshot is a copy: the trainer may overwrite its buffers right away.
    const expected = (live['policy/rank-0/weights.bin'] as Float32Array).slice();
    (live['policy/rank-0/weights.bin'] as Float32Array).fill(0);
    expect(handle.bytes).toBe(3 * 4000 + 64 + new TextEncoder().encode(JSON.stringify({ step: 100, ...stateFor(100) })).length);
    expect(await handle.done).toMatchObject({ status: 'saved', step: 100, attempts: 1 });
    writer.save(200, { shards: shardsFor(200), state: stateFor(200) });
    await writer.flush();

    assertManifestLastOrder('run-a', store.completedPuts, 5);
    expect(store.completedPuts.slice(0, 7)).toEqual([
      'run-a/step-000100/policy/rank-0/optimizer.bin',
      'run-a/step-000100/policy/rank-0/weights.bin',
      'run-a/step-000100/value/rank-0/optimizer.bin',
      'run-a/step-000100/value/rank-0/weights.bin',
      'run-a/step-000100/state.json',
      'run-a/step-000100/manifest.json',
      'run-a/latest',
    ]);
    expect((await listCheckpoints(store, 'run-a')).map(({ step, complete }) => ({ step, complete }))).toEqual([
      { step: 100, complete: true },
      { step: 200, complete: true },
    ]);
    expect(await readLatestPointer(store, 'run-a')).toBe(200);

    const first = await loadCheckpoint(store, 'run-a', 100);
    expect(first.shards['policy/rank-0/weights.bin']).toBeInstanceOf(Float32Array);
    expect(first.shards['policy/rank-0/weights.bin']).toEqual(expected);
    expect(first.shards['value/rank-0/optimizer.bin']).toEqual(shardsFor(100)['value/rank-0/optimizer.bin']);
    expect(first.state).toEqual({ step: 100, ...stateFor(100) });
    const newest = await loadLatestVerified(store, 'run-a');
    expect(newest?.step).toBe(200);
    expect(newest?.shards['value/rank-0/weights.bin']).toEqual(shardsFor(200)['value/rank-0/weights.bin']);
    expect(newest?.manifest.objects.map((object) => [object.key, object.bytes, object.dtype])).toContainEqual(['policy/rank-0/weights.bin', 4000, 'float32']);
    await store.close();
  });

  it('keeps the newest N complete checkpoints, never the one latest points at, never an in-progress one', async () => {
    const store = open();
    const events: CheckpointEvent[] = [];
    const writer = new CheckpointWriter({ store, run: 'run-b', keep: 2, maxPending: 10, onEvent: (event) => events.push(event) });
    // An abandoned write older than everything (no manifest) and an in-progress one newer than everything.
    await store.put('run-b/step-000050/policy/rank-0/weights.bin', new Uint8Array(8));
    await store.put('run-b/step-000900/policy/rank-0/weights.bin', new Uint8Array(8));
    for (const step of [100, 200, 300, 400]) writer.save(step, { shards: shardsFor(step, 10), state: stateFor(step) });
    await writer.flush();
    expect(events.filter((event) => event.type === 'retention').flatMap((event) => (event.type === 'retention' ? event.deletedSteps : []))).toEqual([
      50, 100, 200,
    ]);
    expect((await listCheckpoints(store, 'run-b')).map(({ step, complete }) => [step, complete])).toEqual([
      [300, true],
      [400, true],
      [900, false],
    ]);

    // `latest` pinned to an older checkpoint survives retention even beyond N; once it moves on, it goes.
    await store.put('run-b/latest', new TextEncoder().encode('step-000300\n'));
    expect(await applyRetention(store, 'run-b', 1)).toEqual([]);
    await store.put('run-b/latest', new TextEncoder().encode('step-000400\n'));
    expect(await applyRetention(store, 'run-b', 1)).toEqual([300]);
    expect((await listCheckpoints(store, 'run-b')).map(({ step }) => step)).toEqual([400, 900]);
    await store.close();
  });

  it('skips a corrupted, truncated or object-missing newest checkpoint with a warning naming the object', async () => {
    const store = open();
    const writer = new CheckpointWriter({ store, run: 'run-c', keep: 10 });
    for (const step of [1, 2, 3, 4]) {
      writer.save(step, { shards: shardsFor(step, 50), state: stateFor(step) });
      await writer.flush();
    }
    await flipByte(store, 'run-c/step-000004/policy/rank-0/weights.bin');
    const truncated = await store.get('run-c/step-000003/state.json');
    await store.put('run-c/step-000003/state.json', truncated.subarray(0, truncated.length - 5));
    await store.delete('run-c/step-000002/value/rank-0/optimizer.bin');

    const warnings: CheckpointProblem[] = [];
    const found = await findLatestVerified(store, 'run-c', { onWarning: (problem) => warnings.push(problem) });
    expect(found?.step).toBe(1);
    expect(warnings.map(({ step, object, failure }) => ({ step, object, failure }))).toEqual([
      { step: 4, object: 'run-c/step-000004/policy/rank-0/weights.bin', failure: 'sha256' },
      { step: 3, object: 'run-c/step-000003/state.json', failure: 'size' },
      { step: 2, object: 'run-c/step-000002/value/rank-0/optimizer.bin', failure: 'missing' },
    ]);
    expect(warnings[0]!.message).toContain('run-c/step-000004/policy/rank-0/weights.bin fails its sha256 check');
    expect(found?.skipped).toHaveLength(3);
    expect((await loadLatestVerified(store, 'run-c'))?.state).toEqual({ step: 1, ...stateFor(1) });

    const corrupt = await loadCheckpoint(store, 'run-c', 4).catch((error: unknown) => error as CheckpointError);
    expect(corrupt).toBeInstanceOf(CheckpointError);
    expect((corrupt as CheckpointError).code).toBe('CHECKPOINT_CORRUPT');
    expect((corrupt as CheckpointError).path).toBe('run-c/step-000004/policy/rank-0/weights.bin');
    await expect(loadCheckpoint(store, 'run-c', 7)).rejects.toMatchObject({ code: 'CHECKPOINT_NOT_FOUND' });

    // A garbled manifest is named as such; with nothing valid left there is no checkpoint to resume.
    await store.put('run-c/step-000001/manifest.json', new TextEncoder().encode('{"format": "posttrain-chec'));
    const last: CheckpointProblem[] = [];
    expect(await findLatestVerified(store, 'run-c', { onWarning: (problem) => last.push(problem) })).toBeUndefined();
    expect(last.at(-1)).toMatchObject({ step: 1, object: 'run-c/step-000001/manifest.json', failure: 'manifest' });
    await store.close();
  });

  it('a resumed run discards the abandoned future before it saves again', async () => {
    const store = open();
    const writer = new CheckpointWriter({ store, run: 'run-d', keep: 10, maxPending: 10 });
    for (const step of [10, 20, 30]) writer.save(step, { shards: shardsFor(step, 5), state: stateFor(step) });
    await writer.flush();
    expect(await discardCheckpointsAfter(store, 'run-d', 10)).toEqual([30, 20]);
    expect((await listCheckpoints(store, 'run-d')).map(({ step }) => step)).toEqual([10]);
    await store.close();
  });
});

describe('CheckpointWriter', () => {
  it('rejects bad input synchronously with the field at fault', () => {
    const writer = new CheckpointWriter({ store: stores[1]![1](), run: 'run-e' });
    const attempt = (step: number, input: object) => {
      try {
        writer.save(step, input as never);
      } catch (error) {
        return error as CheckpointError;
      }
      throw new Error('expected save to throw');
    };
    expect(attempt(1, { shards: { '../x': new Uint8Array(1) }, state: {} }).path).toBe('shards["../x"]');
    expect(attempt(1, { shards: { 'manifest.json': new Uint8Array(1) }, state: {} }).message).toContain('reserved');
    expect(attempt(1, { shards: { 'a.bin': new Float64Array(1) }, state: {} }).message).toContain('is a Float64Array');
    expect(attempt(1, { shards: {}, state: { big: 1n } }).path).toBe('state');
    expect(attempt(1, { shards: {}, state: { step: 2 } }).path).toBe('state.step');
    expect(attempt(-1, { shards: {}, state: {} }).path).toBe('step');
    expect(() => new CheckpointWriter({ store: stores[1]![1](), run: '../escape' })).toThrow(/run name/);
    expect(writer.idle).toBe(true);
  });

  it('keeps uploads in step order, one at a time, and supersedes the oldest waiting snapshot', async () => {
    const store = new RecordingStore(stores[0]![1]());
    const outcomes: string[] = [];
    const writer = new CheckpointWriter({ store, run: 'run-f', maxPending: 1 });
    store.hold();
    const handles = [1, 2, 3].map((step) => writer.save(step, { shards: shardsFor(step, 10), state: stateFor(step) }));
    handles.forEach((handle) => void handle.done.then((outcome) => outcomes.push(`${outcome.step}:${outcome.status}`)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writer.idle).toBe(false);
    store.release();
    await writer.flush();
    expect(outcomes).toEqual(['2:superseded', '1:saved', '3:saved']);
    expect(store.completedPuts.filter((key) => key.endsWith('manifest.json'))).toEqual([
      'run-f/step-000001/manifest.json',
      'run-f/step-000003/manifest.json',
    ]);
    await store.close();
  });

  it('reports a permanent store failure without throwing, and later saves are still accepted', async () => {
    const store = openCheckpointStore('s3://no-such-bucket/x', { s3: server.storeOptions() });
    const events: CheckpointEvent[] = [];
    const writer = new CheckpointWriter({ store, run: 'run-g', onEvent: (event) => events.push(event) });
    const outcome = await writer.save(1, { shards: shardsFor(1, 10), state: stateFor(1) }).done;
    expect(outcome.status).toBe('failed');
    expect(outcome.status === 'failed' && outcome.attempts).toBe(1);
    expect(events.find((event) => event.type === 'failed')).toMatchObject({ step: 1, error: expect.stringContaining('NoSuchBucket') });
    expect(writer.save(2, { shards: {}, state: {} }).step).toBe(2);
    await writer.flush();
    await store.close();
  });
});
