/**
 * Done-means of durable training: a PPO run killed with SIGKILL after step 150 (a checkpoint every 50 steps) and
 * resumed computes exactly what an uninterrupted run with the same seed computes. Both run in child processes at
 * the same time; the backend is pinned to single-threaded wasm so that the arithmetic is the same run to run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readMetrics, runTrainer, spawnTrainer, temporaryDirectory, tinyPpoConfig, waitFor, withoutWallClock, writeStartingModels } from '../faults/helpers.ts';

const STEPS = 180;

it('a PPO run SIGKILLed after step 150 and resumed has the metrics of an uninterrupted run from step 101 on', async () => {
  const root = temporaryDirectory('resume-equivalence');
  writeStartingModels(root);
  const config = (name: string) => tinyPpoConfig(root, { name, trainer: { steps: STEPS, learningRate: 1e-3, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 } });
  const runDirectory = join(root, 'runs', 'interrupted');

  const uninterrupted = runTrainer('ppo', config('uninterrupted'));
  const doomed = spawnTrainer('ppo', config('interrupted'));
  // Kill once checkpoint 150 has landed: the process dies at whatever it was doing in step 151 or later.
  const latest = join(runDirectory, 'checkpoints', 'interrupted', 'latest');
  await waitFor(() => existsSync(latest) && readFileSync(latest, 'utf8').trim() === 'step-000150', 'checkpoint 150');
  doomed.kill('SIGKILL');
  expect((await doomed.finished).signal).toBe('SIGKILL');
  const killedAt = readMetrics(runDirectory).at(-1)!.step;
  expect(killedAt).toBeGreaterThanOrEqual(150);
  expect(killedAt).toBeLessThan(STEPS);
  expect(existsSync(join(runDirectory, 'summary.json'))).toBe(false);

  const resumed = await runTrainer('ppo', config('interrupted'));
  expect(resumed.resumedFrom).toMatchObject({ step: 150, skipped: [] });
  const reference = await uninterrupted;

  const expected = readMetrics(join(root, 'runs', 'uninterrupted'));
  const actual = readMetrics(runDirectory);
  expect(actual.map((record) => record.step)).toEqual(Array.from({ length: STEPS }, (_, index) => index + 1));
  expect(withoutWallClock(actual.slice(100))).toEqual(withoutWallClock(expected.slice(100)));
  for (const field of ['finalGoldReward', 'finalKl', 'meanKl', 'steps', 'baselineGoldReward'] as const) expect(resumed[field]).toEqual(reference[field]);
});
