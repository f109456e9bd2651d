/**
 * A role worker SIGKILLed mid-step, with and without a warm spare. Either way the run is not restarted: the dead
 * host is replaced (by the spare, or by a new host built from the model files), every stateful role goes back to
 * the newest recovery point (the previous step with a spare, the newest checkpoint without), and on a
 * deterministic backend the run ends with exactly the metrics of an uninterrupted run.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Runtime } from '../../runtime/index.ts';
import { PPOTrainer } from '../../trainers/ppo-trainer.ts';
import type { FailoverRecord } from '../../trainers/durable-run.ts';
import { readMetrics, temporaryDirectory, tinyPpoConfig, withoutWallClock, writeStartingModels } from './helpers.ts';

const STEPS = 16;
const KILL_AT = 9;
let root: string;
let runtime: Runtime;
let reference: Record<string, unknown>[];

beforeAll(async () => {
  root = temporaryDirectory('failover');
  writeStartingModels(root);
  runtime = await Runtime.start({ namespace: 'failover-test' });
  await new PPOTrainer(config('uninterrupted'), { runtime }).train();
  reference = withoutWallClock(readMetrics(join(root, 'runs', 'uninterrupted')));
});
afterAll(async () => {
  await runtime.shutdown();
});

function config(name: string, extra: { spares?: number } = {}) {
  return tinyPpoConfig(root, {
    name,
    trainer: { steps: STEPS, learningRate: 1e-3, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 },
    checkpoint: { everySteps: 5 },
    runtime: { backend: 'wasm', threads: 1, roles: { policy: { spares: extra.spares ?? 0 } } },
  });
}

it('with a warm spare, killing the policy worker mid-step costs no restart: the spare takes over and the failed step is retried', async () => {
  const trainer = new PPOTrainer(config('spare', { spares: 1 }), { runtime, faults: { kill: { role: 'policy', atStep: KILL_AT, afterMs: 10 } } });
  const failovers: FailoverRecord[] = [];
  trainer.on('failover', (record) => failovers.push(record));
  const summary = await trainer.train();

  expect(failovers).toHaveLength(1);
  expect(failovers[0]).toMatchObject({ failedStep: KILL_AT, resumedFromStep: KILL_AT - 1 });
  expect(failovers[0]!.replaced).toEqual([expect.objectContaining({ rank: 0, via: 'spare', cause: expect.stringMatching(/SIGKILL/) })]);
  expect(failovers[0]!.replaced[0]!.roles).toContain('policy');
  expect(summary.failovers).toEqual(failovers);
  expect(summary.steps).toBe(STEPS);
  const metrics = readMetrics(join(root, 'runs', 'spare'));
  expect(metrics.map((record) => record.step)).toEqual(Array.from({ length: STEPS }, (_, index) => index + 1));
  expect(withoutWallClock(metrics)).toEqual(reference);
});

it('without a spare, the dead worker is relaunched from its model files and the run redoes the steps since its newest checkpoint', async () => {
  const trainer = new PPOTrainer(config('cold'), { runtime, faults: { kill: { role: 'policy', atStep: KILL_AT, afterMs: 10 } } });
  const summary = await trainer.train();

  const failovers = summary.failovers as FailoverRecord[];
  expect(failovers).toHaveLength(1);
  expect(failovers[0]).toMatchObject({ failedStep: KILL_AT, resumedFromStep: 5 });
  expect(failovers[0]!.replaced).toEqual([expect.objectContaining({ rank: 0, via: 'relaunch' })]);
  const metrics = readMetrics(join(root, 'runs', 'cold'));
  expect(metrics.map((record) => record.step)).toEqual(Array.from({ length: STEPS }, (_, index) => index + 1));
  expect(withoutWallClock(metrics)).toEqual(reference);
});
