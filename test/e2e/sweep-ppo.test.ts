import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Runtime } from '../../runtime/index.ts';
import { type FrozenTrial, loadStudy, parseSweepConfig, RELEASE_MS_KEY } from '../../tune/index.ts';
import { launchSweep, type SweepReport } from '../../tune/sweep-launcher.ts';
import { RUN_DIRECTORY_KEY } from '../../tune/trial-runner.ts';
import tinyPpo from '../tune/fixtures/tiny-ppo-recipe.ts';
import { tinyPpoSweep } from '../tune/fixtures/tiny-ppo-sweep.ts';
import { describeWithOptuna, optuna } from '../interop/optuna.ts';
import { eventually } from '../runtime/helpers.ts';

/**
 * The sweep of issue 6's done-means: 16 PPO trials, 4 at a time on 4 logical GPUs of one runtime, median pruner.
 * Pruned trials must stop at the step they were pruned at and leave nothing behind; the study must open in Optuna.
 * (release_ms itself is a timing: `npm run bench -- sweep-release` reports it against the 1,000 ms target.)
 */
const directory = mkdtempSync(join(tmpdir(), 'posttrain-sweep-e2e-'));
const storage = `sqlite:///${join(directory, 'sweeps.db')}`;
const config = parseSweepConfig({ ...tinyPpoSweep, storage });

let runtime: Runtime;
let report: SweepReport;
let trials: FrozenTrial[];
let mostGroupsAtOnce = 0;

beforeAll(async () => {
  runtime = await Runtime.start({ namespace: 'sweep-e2e', nodes: tinyPpoSweep.nodes });
  const watch = setInterval(() => {
    void runtime.listPlacementGroups().then((groups) => (mostGroupsAtOnce = Math.max(mostGroupsAtOnce, groups.length)));
  }, 50);
  try {
    report = await launchSweep({ config, baseRecipe: tinyPpo, runtime, runsDirectory: join(directory, 'runs') });
  } finally {
    clearInterval(watch);
  }
  trials = loadStudy({ storage, studyName: config.name }).trials;
}, 600_000);

afterAll(async () => {
  await runtime?.shutdown();
});

describe('a 16-trial PPO sweep, 4 trials at a time on logical GPUs, median pruner', () => {
  it('finishes all 16 trials, prunes some, and 4 ran at once, each in its own placement group', () => {
    expect(trials).toHaveLength(16);
    expect(trials.filter((trial) => trial.state === 'FAIL').map((trial) => trial.userAttrs.error)).toEqual([]);
    expect(report.trials).toMatchObject({ target: 16, failed: 0 });
    expect(report.trials.complete + report.trials.pruned).toBe(16);
    expect(report.trials.pruned).toBeGreaterThan(0);
    expect(mostGroupsAtOnce).toBe(4);
  });

  it('leaves no actor, placement group or reservation behind', async () => {
    expect(await runtime.listActors()).toEqual([]);
    expect(await runtime.listPlacementGroups()).toEqual([]);
    for (const node of await runtime.nodes()) expect(node.free).toEqual(node.total);
    expect(report.leaks).toEqual({ actors: 0, placementGroups: 0, resourcesFree: true });
  });

  it('records release_ms on every pruned trial, and a pruned trial trains no step after the prune decision', () => {
    const pruned = trials.filter((trial) => trial.state === 'PRUNED');
    for (const trial of pruned) {
      expect(trial.userAttrs[RELEASE_MS_KEY]).toEqual(expect.any(Number));
      const steps = readFileSync(join(trial.userAttrs[RUN_DIRECTORY_KEY] as string, 'metrics.jsonl'), 'utf8').trim().split('\n');
      expect(JSON.parse(steps.at(-1)!).step).toBe(trial.lastStep);
      expect(trial.lastStep).toBeLessThan(10);
    }
    expect(report.releaseMs.count).toBe(pruned.length);
  });

  it('runs each trial with its own values, resources and threads, in its own run directory', () => {
    for (const trial of trials) {
      const runDirectory = trial.userAttrs[RUN_DIRECTORY_KEY] as string;
      expect(runDirectory).toBe(join(directory, 'runs', 'tiny-ppo-16', `trial-${trial.number}`));
      const trained = JSON.parse(readFileSync(join(runDirectory, 'config.json'), 'utf8'));
      expect(trained.trainer.learningRate).toBe(trial.params['stages.ppo.trainer.learningRate']);
      expect(trained.algo.klCoef).toBe(trial.params['stages.ppo.algo.klCoef']);
      expect(trained.algo.clipRange).toBe(trial.params['stages.ppo.algo.clipRange']);
      expect(trained.runtime.threads).toBe(1);
      expect(trained.runtime.roles.policy.resources).toEqual({ CPU: 0.5, GPU: 1 });
      expect(trained.init.policy).toBe(join(directory, 'runs', 'tiny-ppo-16', 'sft', 'model'));
      if (trial.state === 'COMPLETE') {
        // A complete trial's value is its held-out gold reward after training.
        expect(trial.value).toBe(JSON.parse(readFileSync(join(runDirectory, 'summary.json'), 'utf8')).finalGoldReward);
      }
    }
  });

  it('runs the shared stages once and writes the sweep summary next to them', () => {
    expect(Object.keys(report.sharedStages)).toEqual(['sft', 'reward']);
    expect(existsSync(join(directory, 'runs', 'tiny-ppo-16', 'sft', 'model.bin'))).toBe(true);
    const written = JSON.parse(readFileSync(join(directory, 'runs', 'tiny-ppo-16', 'summary.json'), 'utf8'));
    const best = trials.filter((trial) => trial.state === 'COMPLETE').sort((a, b) => b.value! - a.value!)[0]!;
    expect(written.best).toMatchObject({ number: best.number, value: best.value });
    expect(written.trials).toEqual(report.trials);
  });

  it('stops the whole sweep on a metric the trainer does not log, releasing the trials it started', async () => {
    const misspelt = parseSweepConfig({ ...config, name: 'tiny-ppo-misspelt', metric: 'goldRewards', nTrials: 4, concurrency: 2 });
    const error = await launchSweep({ config: misspelt, baseRecipe: tinyPpo, runtime, runsDirectory: join(directory, 'runs') }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([{ path: 'metric', message: expect.stringMatching(/^goldRewards is not a metric of the ppo stage's steps; it logs goldReward, .*\bmodelReward, kl, /) }]);
    const started = loadStudy({ storage, studyName: 'tiny-ppo-misspelt' }).trials;
    expect(started.length).toBeGreaterThan(0);
    expect(started.filter((trial) => trial.state === 'RUNNING' || trial.state === 'COMPLETE')).toEqual([]);
    expect(await eventually(() => runtime.listActors(), (actors) => actors.length === 0)).toEqual([]);
    expect(await runtime.listPlacementGroups()).toEqual([]);
    for (const node of await runtime.nodes()) expect(node.free).toEqual(node.total);
  });
});

describeWithOptuna('the sweep study in Optuna', () => {
  it("shows every trial's state, params, release_ms and the same best trial", () => {
    const seen = optuna('dump', storage, config.name, '--v320');
    expect(seen.trials.map((trial: { state: string }) => trial.state)).toEqual(trials.map((trial) => trial.state));
    expect(seen.trials.map((trial: { params: object }) => trial.params)).toEqual(trials.map((trial) => trial.params));
    expect(seen.trials.map((trial: { user_attrs: Record<string, unknown> }) => trial.user_attrs[RELEASE_MS_KEY])).toEqual(
      trials.map((trial) => trial.userAttrs[RELEASE_MS_KEY]),
    );
    expect(seen.best).toBe(report.best!.number);
    expect(seen.user_attrs).toMatchObject({ metric: 'goldReward', base_recipe: 'test/tune/fixtures/tiny-ppo-recipe.ts' });
  });
});
