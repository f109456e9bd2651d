import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/index.ts';
import { loadStudy, parseSweepConfig, RELEASE_MS_KEY } from '../../tune/index.ts';
import { launchSweep, type SweepReport } from '../../tune/sweep-launcher.ts';
import { startSlurmCluster, type SlurmTestCluster } from '../../deploy/dev-cluster/slurm.ts';
import { TINY_MODEL, randomModelFiles, scratchDirectory } from '../trainers/helpers.ts';
import { slurmAvailable } from './slurm-harness.ts';

const recipeCommand = `${process.execPath} ${fileURLToPath(new URL('../../bin/recipe.js', import.meta.url))}`;

/**
 * A sweep whose base recipe has `runtime.slurm`, on a cluster head with no nodes of its own: each trial's
 * reservation (its trainer's placement group) is a Slurm job of its own, and the pruner's decision releases it
 * through the same path, the group's removal, which cancels the job. The metric is `klCoef`, which a PPO step logs
 * as the configured constant, so which trials the median pruner stops depends on the sampled values alone.
 */
describe.skipIf(!slurmAvailable())('a sweep on Slurm: one Slurm job per trial, cancelled when the trial is pruned', () => {
  const scratch = scratchDirectory('slurm-sweep');
  const token = randomBytes(24).toString('hex');
  let slurm: SlurmTestCluster;
  let runtime: Runtime | undefined;
  let headAddress: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    slurm = await startSlurmCluster({ nodes: 2, cpusPerNode: 2, attachTestProcess: true });
    headAddress = await slurm.startPosttrainHead(token);
    runtime = await Runtime.start({ address: headAddress, host: slurm.net.testAddress as string, token, namespace: 'slurm-sweep' });
    // What the driver's machine has on a Slurm cluster: Slurm's clients configured, the token, how to start posttrain.
    Object.assign(process.env, { SLURM_CONF: slurm.conf, POSTTRAIN_TOKEN: token, POSTTRAIN_RECIPE_COMMAND: recipeCommand });
    delete process.env.VITEST;
  }, 120_000);
  afterAll(async () => {
    process.env = saved;
    await runtime?.shutdown();
    slurm?.destroy();
    scratch.remove();
  });

  it('every trial runs in its own Slurm job; the pruned trial releases it and its job leaves squeue', async () => {
    const task = { name: 'sentiment' as const };
    const models = randomModelFiles(scratch.path, task);
    const baseRecipe = {
      name: 'slurm-sweep',
      seed: 3,
      task,
      model: TINY_MODEL,
      runtime: { address: headAddress, backend: 'wasm', threads: 1, slurm: { startTimeoutMs: 120_000, outputDirectory: scratch.path } },
      checkpoint: { everySteps: 0 },
      logging: { level: 'warn', progress: false },
      stages: {
        ppo: {
          init: { policy: models.language, reward: models.reward },
          rollout: { batchSize: 8 },
          algo: { epochs: 1, minibatches: 2 },
          trainer: { steps: 3, learningRate: 1e-3, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
        },
      },
    };
    const storage = `sqlite:///${join(scratch.path, 'sweeps.db')}`;
    const config = parseSweepConfig({
      name: 'slurm-sweep',
      baseRecipe: '(inline)',
      space: { 'stages.ppo.algo.klCoef': { type: 'categorical', choices: [0.2, 0.1, 0.05] } },
      sampler: { type: 'grid', seed: 1 },
      // After one complete trial, a trial whose klCoef is below the median of the complete ones is pruned at step 1.
      pruner: { type: 'median', nStartupTrials: 1 },
      metric: 'klCoef',
      direction: 'maximize',
      nTrials: 3,
      concurrency: 1,
      reportInterval: 1,
      storage,
      trial: { resources: { CPU: 1 }, threads: 1 },
    });
    // Every job slurmctld remembers (ended ones too, MinJobAge): id -> state.
    const jobs = async () => new Map([...(await slurm.commandAsync('scontrol', ['show', 'job', '--oneliner'])).matchAll(/JobId=(\d+) .*?JobState=(\S+)/g)].map((match) => [match[1] as string, match[2] as string]));
    const before = await jobs();

    const report: SweepReport = await launchSweep({ config, baseRecipe, runtime: runtime as Runtime, runsDirectory: join(scratch.path, 'runs') });

    const trials = loadStudy({ storage, studyName: config.name }).trials;
    expect(trials.filter((trial) => trial.state === 'FAIL').map((trial) => trial.userAttrs.error)).toEqual([]);
    expect(report.trials).toMatchObject({ target: 3, failed: 0 });
    const pruned = trials.filter((trial) => trial.state === 'PRUNED');
    expect(pruned.length).toBeGreaterThan(0);
    for (const trial of pruned) expect(trial.userAttrs[RELEASE_MS_KEY]).toEqual(expect.any(Number));
    expect(report.leaks).toEqual({ actors: 0, placementGroups: 0, resourcesFree: true });

    // One job per trial, submitted in trial order (one trial at a time, one placement group each). The pruned
    // trials' jobs leave squeue, and so do the complete trials' (cancelled when their runs ended).
    const started = [...(await jobs())].filter(([id]) => !before.has(id)).map(([id]) => id).sort((a, b) => Number(a) - Number(b));
    expect(started).toHaveLength(trials.length);
    // Each was cancelled by posttrain (the prune, or the run's end), none ran out or failed, and none is queued.
    const ended = await Promise.all(started.map((jobId) => slurm.waitForJobEnd(jobId, 60_000)));
    expect(ended).toEqual(trials.map(() => 'CANCELLED'));
    expect((await slurm.commandAsync('squeue', ['--noheader', '--format=%i'])).trim()).toBe('');
  }, 600_000);
});
