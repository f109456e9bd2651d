/**
 * Spot interruption notices, against a local fake of the instance-metadata service: the watcher alone (AWS's
 * format, IMDSv2 tokens, an unreachable service), then a PPO run that gets a notice at step 130: it checkpoints
 * step 130, exits cleanly with `stoppedBy`, and a resumed run continues at step 131 without losing a step.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpotNoticeWatcher, type SpotNotice } from '../../runtime/faults/index.ts';
import { listCheckpoints, openCheckpointStore } from '../../runtime/checkpoint/index.ts';
import { PPOTrainer } from '../../trainers/ppo-trainer.ts';
import { FakeMetadataServer } from './fake-metadata-server.ts';
import { readMetrics, temporaryDirectory, tinyPpoConfig, writeStartingModels } from './helpers.ts';

describe('SpotNoticeWatcher', () => {
  let server: FakeMetadataServer;
  beforeAll(async () => {
    server = await FakeMetadataServer.start({ requireToken: true });
  });
  afterAll(async () => {
    await server.close();
  });

  it('sees no notice on 404, then reads the notice with an IMDSv2 token and reports it once', async () => {
    const notices: SpotNotice[] = [];
    const watcher = new SpotNoticeWatcher({ url: server.url, onNotice: (notice) => notices.push(notice) });
    expect(await watcher.check()).toBeUndefined();
    expect(server.requests).toContain('PUT /latest/api/token');
    server.serveNotice('terminate', '2030-01-01T00:00:00Z');
    expect(await watcher.check()).toEqual({ action: 'terminate', time: '2030-01-01T00:00:00Z', url: server.url });
    await watcher.check();
    expect(notices).toHaveLength(1);
  });

  it('polls in the background and treats an unreachable metadata service as no notice', async () => {
    const unreachable = new SpotNoticeWatcher({ url: 'http://127.0.0.1:9/latest/meta-data/spot/instance-action', onNotice: () => {} });
    expect(await unreachable.check()).toBeUndefined();
    const seen = new Promise<SpotNotice>((resolve) => {
      const watcher = new SpotNoticeWatcher({ url: server.url, pollMs: 50, onNotice: (notice) => (watcher.stop(), resolve(notice)) });
      watcher.start();
    });
    expect((await seen).action).toBe('terminate');
  });
});

it('a notice at step 130 makes the run checkpoint step 130 and exit cleanly; the resumed run loses no step', async () => {
  const root = temporaryDirectory('spot');
  writeStartingModels(root);
  const metadata = await FakeMetadataServer.start();
  try {
    const config = tinyPpoConfig(root, {
      trainer: { steps: 135, learningRate: 1e-3, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 },
      checkpoint: { everySteps: 50, spotNoticeUrl: metadata.url, spotPollMs: 60_000 },
    });
    const trainer = new PPOTrainer(config);
    // The notice appears while step 130 is being logged; the step-boundary poll that follows sees it.
    trainer.on('step', (record) => record.step === 130 && metadata.serveNotice());
    const stopped = await trainer.train();
    expect(stopped.stoppedBy).toMatch(/^spot-interruption: terminate at /);
    expect(stopped.lastCheckpoint).toMatchObject({ step: 130 });
    const runDirectory = join(root, 'runs', 'ppo');
    expect(readMetrics(runDirectory).at(-1)!.step).toBe(130);
    const store = openCheckpointStore(`file://${join(runDirectory, 'checkpoints')}`);
    expect((await listCheckpoints(store, 'ppo')).filter((each) => each.complete).map((each) => each.step)).toEqual([50, 100, 130]);
    expect(existsSync(join(runDirectory, 'model.json'))).toBe(true);

    const resumed = await new PPOTrainer({ ...config, checkpoint: { everySteps: 50 } }).train();
    expect(resumed.resumedFrom).toMatchObject({ step: 130 });
    expect(resumed.stoppedBy).toBeUndefined();
    expect(readMetrics(runDirectory).map((record) => record.step)).toEqual(Array.from({ length: 135 }, (_, index) => index + 1));
  } finally {
    await metadata.close();
  }
});
