/**
 * PPO checkpoints on a real S3 server on loopback (s3rver), through the standard credential chain: a run saves
 * while the store is briefly unreachable (the checkpoint still lands), a longer run resumes from the newest
 * checkpoint, and a corrupted newest checkpoint makes the next resume fall back to the one before, saying which
 * object failed. Resumed runs compute what the runs they continue computed (single-threaded wasm).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listCheckpoints, loadCheckpoint, openCheckpointStore, type CheckpointStore } from '../../runtime/checkpoint/index.ts';
import { Runtime } from '../../runtime/index.ts';
import { PPOTrainer } from '../../trainers/ppo-trainer.ts';
import type { LandedCheckpoint } from '../../trainers/checkpointing.ts';
import { LoopbackS3Server } from '../runtime/checkpoint/s3-server.ts';
import { readMetrics, temporaryDirectory, tinyPpoConfig, withoutWallClock, writeStartingModels } from '../faults/helpers.ts';

let server: LoopbackS3Server;
let runtime: Runtime;
let store: CheckpointStore;
let root: string;

beforeAll(async () => {
  server = await LoopbackS3Server.start();
  // The trainer finds credentials the standard way; s3rver accepts its default pair.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  runtime = await Runtime.start({ namespace: 'checkpoint-s3' });
  root = temporaryDirectory('checkpoint-s3');
  writeStartingModels(root);
  store = openCheckpointStore(`s3://${server.bucket}/runs`, { s3: server.storeOptions() });
});
afterAll(async () => {
  await store.close();
  await runtime.shutdown();
  await server.dispose();
});

function config(steps: number) {
  return tinyPpoConfig(root, {
    trainer: { steps, learningRate: 1e-3, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 },
    checkpoint: { uri: `s3://${server.bucket}/runs`, endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', everySteps: 10 },
  });
}

it('saves to s3:// (through a store outage), resumes from the newest checkpoint, and falls back past a corrupted one', async () => {
  const runDirectory = join(root, 'runs', 'ppo');
  const first = new PPOTrainer(config(20), {
    runtime,
    faults: { storeOutage: { atStep: 10, forMs: 500 }, stepDelayMs: 150 },
    checkpointWriter: { initialBackoffMs: 100, maxBackoffMs: 200 },
  });
  const landed: LandedCheckpoint[] = [];
  first.on('checkpoint', (checkpoint) => landed.push(checkpoint));
  const firstSummary = await first.train();
  expect(landed.map((checkpoint) => checkpoint.step)).toEqual([10, 20]);
  expect(landed[0]!.uri).toBe(`s3://${server.bucket}/runs/ppo/step-000010/`);
  expect(landed[0]!.attempts).toBeGreaterThan(1); // it was retried until the outage ended
  expect(landed[1]!.attempts).toBe(1);
  expect(firstSummary.lastCheckpoint).toEqual({ step: 20, uri: `s3://${server.bucket}/runs/ppo/step-000020/` });
  // The checkpoint of step 10 landed while later steps ran: a later metrics line records it, with what it cost.
  expect(readMetrics(runDirectory).find((record) => record.checkpoint)?.checkpoint).toEqual({
    step: 10,
    uri: landed[0]!.uri,
    bytes: landed[0]!.bytes,
    stallSeconds: landed[0]!.stallSeconds,
    uploadSeconds: landed[0]!.uploadSeconds,
  });
  expect(landed[0]!.stallSeconds).toBeGreaterThan(0);
  const saved = await loadCheckpoint(store, 'ppo', 20);
  expect(Object.keys(saved.shards).sort()).toEqual(['policy/rank-0/optimizer.bin', 'policy/rank-0/weights.bin', 'value/rank-0/optimizer.bin', 'value/rank-0/weights.bin']);
  expect(saved.state).toMatchObject({ step: 20, method: 'ppo', dataCursor: { step: 20 }, roles: { policy: { weightVersion: 40, optimizerStep: 40 } } });
  expect((saved.state.samplers as Record<string, number[][]>).rollout).toHaveLength(1);

  const second = await new PPOTrainer(config(30), { runtime }).train();
  expect(second.resumedFrom).toEqual({ step: 20, uri: `s3://${server.bucket}/runs/ppo/step-000020/`, skipped: [] });
  const afterSecond = withoutWallClock(readMetrics(runDirectory));
  expect(afterSecond.map((record) => record.step)).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));

  // Truncate the policy weights of the newest checkpoint, as a torn upload would leave them.
  const key = 'ppo/step-000030/policy/rank-0/weights.bin';
  await store.put(key, (await store.get(key)).subarray(0, 1000));
  const third = await new PPOTrainer(config(40), { runtime }).train();
  expect(third.resumedFrom).toMatchObject({ step: 20, skipped: [{ step: 30, object: key, failure: 'size' }] });
  const afterThird = withoutWallClock(readMetrics(runDirectory));
  expect(afterThird.map((record) => record.step)).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
  expect(afterThird.slice(20, 30)).toEqual(afterSecond.slice(20, 30));
  expect((await listCheckpoints(store, 'ppo')).filter((each) => each.complete).map((each) => each.step)).toEqual([20, 30, 40]);
  expect((await loadCheckpoint(store, 'ppo', 30)).step).toBe(30);
});
