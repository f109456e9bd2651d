/**
 * The one long test of durable training: during a PPO run the S3 server goes away for 30 s (really stopped,
 * connections cut) and comes back on the same port. Training goes on through the outage, the checkpoints saved
 * meanwhile land once the server is back, and an independent reader never finds `latest` pointing at a checkpoint
 * that does not verify. Steps are slowed down (a fault-injection knob) so the outage spans few of them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CheckpointError, findLatestVerified, loadCheckpoint, openCheckpointStore, readLatestPointer } from '../../runtime/checkpoint/index.ts';
import { PPOTrainer } from '../../trainers/ppo-trainer.ts';
import type { LandedCheckpoint } from '../../trainers/checkpointing.ts';
import { LoopbackS3Server } from '../runtime/checkpoint/s3-server.ts';
import { readMetrics, temporaryDirectory, tinyPpoConfig, writeStartingModels } from '../faults/helpers.ts';

const OUTAGE_MS = 30_000;
let server: LoopbackS3Server;

beforeAll(async () => {
  server = await LoopbackS3Server.start();
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
});
afterAll(async () => {
  await server.dispose();
});

it('a store down for 30 s: training continues, the checkpoints saved meanwhile land after recovery, latest always verifies', async () => {
  const root = temporaryDirectory('checkpoint-outage');
  writeStartingModels(root);
  const uri = `s3://${server.bucket}/outage`;
  const trainer = new PPOTrainer(
    tinyPpoConfig(root, {
      trainer: { steps: 90, learningRate: 1e-3, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 },
      checkpoint: { uri, endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', everySteps: 10 },
    }),
    { faults: { stepDelayMs: 300 }, checkpointWriter: { initialBackoffMs: 250, maxBackoffMs: 2_000 } },
  );
  const landed: (LandedCheckpoint & { at: number })[] = [];
  trainer.on('checkpoint', (checkpoint) => landed.push({ ...checkpoint, at: Date.now() }));
  let outage: { from: number; to: number; over: Promise<void> } | undefined;
  trainer.on('step', (record) => {
    if (record.step !== 12) return;
    const from = Date.now();
    const over = server.stop().then(async () => {
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      outage!.to = Date.now();
      await server.restart();
    });
    outage = { from, to: Number.POSITIVE_INFINITY, over };
  });

  // While the run goes on, an independent reader keeps checking that `latest` names a checkpoint that verifies.
  const observer = openCheckpointStore(uri, { s3: server.storeOptions({ maxAttempts: 1 }) });
  const observed: number[] = [];
  let training = true;
  const watching = (async () => {
    while (training) {
      const latest = await readLatestPointer(observer, 'ppo').catch(() => undefined); // fails while the server is down
      // The server may go away between reading `latest` and reading what it names: a transient store failure is
      // "could not look", a checkpoint that does not verify fails the test.
      if (latest !== undefined) {
        const loaded = await loadCheckpoint(observer, 'ppo', latest).catch((error: unknown) => {
          if (error instanceof CheckpointError && error.code === 'CHECKPOINT_STORE_FAILED' && error.retryable) return undefined;
          throw error;
        });
        if (loaded) observed.push(loaded.step);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const summary = await trainer.train();
  training = false;
  await watching;
  // The watcher may have been asleep when the last checkpoint landed: one more look after training.
  const finalLatest = await readLatestPointer(observer, 'ppo');
  if (finalLatest !== undefined) observed.push((await loadCheckpoint(observer, 'ppo', finalLatest)).step);
  await outage!.over;

  const { from, to } = outage!;
  const duringOutage = readMetrics(join(root, 'runs', 'ppo')).filter((record) => record.wallTime! * 1000 > from && record.wallTime! * 1000 < to);
  expect(duringOutage.length).toBeGreaterThan(20);
  const savedDuringOutage = landed.filter((checkpoint) => checkpoint.step > 12 && checkpoint.step <= duringOutage.at(-1)!.step);
  expect(savedDuringOutage.length).toBeGreaterThan(0);
  // The first was uploading when the server went away and was retried until it came back; later ones superseded
  // each other while waiting, and the newest went up after it.
  expect(savedDuringOutage.every((checkpoint) => checkpoint.at >= to)).toBe(true);
  expect(savedDuringOutage[0]!.attempts).toBeGreaterThan(1);
  expect(landed.at(-1)!.step).toBe(90);
  expect(summary.lastCheckpoint).toMatchObject({ step: 90 });
  expect(observed).toContain(10);
  expect(observed).toContain(90);
  expect(await findLatestVerified(observer, 'ppo')).toMatchObject({ step: 90, skipped: [] });
  await observer.close();
});
