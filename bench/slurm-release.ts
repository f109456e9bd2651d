/**
 * `npm run bench -- slurm-release [--trials 6] [--rounds 3]`   (root, with slurm-wlm, munge and iproute2 installed)
 *
 * How fast a sweep trial pruned on Slurm gives its machines back: on a real Slurm of two slurmd hosts
 * (deploy/dev-cluster/slurm.ts) and a posttrain head with no nodes of its own, a tiny PPO sweep whose base recipe
 * has `runtime.slurm` runs one trial at a time; each trial's placement group is a Slurm job of its own
 * (runtime/cluster/slurm-placement.ts), and the median pruner stops the trials whose `klCoef` (a constant PPO logs
 * each step) is below the complete trials' median. `release_ms`: from the pruner's decision (the report that
 * returned "pruned", through the sweep's own runner and trial code: tune/sweep-runner.ts, tune/trial-runner.ts)
 * until `squeue` no longer lists the trial's job.
 *
 * Peer, same run: Slurm's own floor, a bare two-node `sleep` job from `scancel` until `squeue` no longer lists it.
 * The production figure this replaces: a pruned Ray Tune trial held its GPUs 30-60 s, and on Slurm nothing gave the
 * nodes back to the queue at all. Target: < 1,000 ms.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSlurmCluster, type SlurmTestCluster } from '../deploy/dev-cluster/slurm.ts';
import { GPT } from '../models/index.ts';
import { saveModelFile } from '../models/model-file.ts';
import { createTask } from '../models/tasks/index.ts';
import { Runtime } from '../runtime/index.ts';
import { createStudy, parseSweepConfig } from '../tune/index.ts';
import { prunerFromConfig, samplerFromConfig } from '../tune/sweep-config.ts';
import { runSweep } from '../tune/sweep-runner.ts';
import { planSweep } from '../tune/sweep-plan.ts';
import { trainerTrial } from '../tune/trial-runner.ts';
import { parseFlags } from './_flags.ts';

const recipe = fileURLToPath(new URL('../bin/recipe.js', import.meta.url));
const MODEL = { dModel: 32, nHeads: 2, nLayers: 1, contextLength: 64 };

/** Milliseconds from `start` until `squeue` no longer lists `jobId` (polled as fast as squeue answers). */
async function untilGone(slurm: SlurmTestCluster, jobId: string, start: number): Promise<number> {
  for (;;) {
    const listed = (await slurm.commandAsync('squeue', ['--noheader', '--jobs', jobId, '--format=%i'])).trim();
    if (listed === '') return performance.now() - start;
    if (performance.now() - start > 120_000) throw new Error(`job ${jobId} still in squeue after 120 s`);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const round = (value: number) => Math.round(value * 10) / 10;

/** Fresh policy and reward model files of the tiny model, for the trials to start from (no shared stages). */
function randomModels(directory: string): { policy: string; reward: string } {
  const config = { ...MODEL, vocabSize: createTask({ name: 'sentiment' }).tokenizer.vocabSize };
  for (const [index, head] of (['language', 'reward'] as const).entries()) {
    const gpt = new GPT(config, { head, seed: 100 + index });
    saveModelFile(directory, `random-${head}`, { config, head, manifest: gpt.parameters.manifest, weights: gpt.parameters.data });
  }
  return { policy: join(directory, 'random-language'), reward: join(directory, 'random-reward') };
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { trials: 'number', rounds: 'number' });
  const trials = flags.trials ?? 6;
  const rounds = flags.rounds ?? 3;
  const slurm = await startSlurmCluster({ nodes: 2, cpusPerNode: 2, attachTestProcess: true });
  let runtime: Runtime | undefined;
  let watching = true;
  try {
    const token = randomBytes(24).toString('hex');
    const headAddress = await slurm.startPosttrainHead(token);
    runtime = await Runtime.start({ address: headAddress, host: slurm.net.testAddress as string, token, namespace: 'bench-slurm-release' });
    // What the driver's machine has on a Slurm cluster: Slurm's clients configured, the token, how to start posttrain.
    Object.assign(process.env, { SLURM_CONF: slurm.conf, POSTTRAIN_TOKEN: token, POSTTRAIN_RECIPE_COMMAND: `${process.execPath} ${recipe}`, POSTTRAIN_LOG_LEVEL: 'warn' });

    const bare: number[] = [];
    for (let index = 0; index < rounds; index++) {
      const script = join(slurm.directory, 'sleep.sbatch');
      writeFileSync(script, '#!/bin/bash\nsrun --ntasks-per-node=1 sleep 600\n');
      const job = slurm.submit(['--nodes=2', `--output=${slurm.directory}/sleep-%j.out`, script]);
      await slurm.waitForJobRunning(job);
      await sleep(500);
      const cancelled = performance.now();
      slurm.command('scancel', [job]);
      bare.push(await untilGone(slurm, job, cancelled));
    }

    const config = parseSweepConfig({
      name: 'bench-slurm-release',
      baseRecipe: '(inline)',
      space: { 'stages.ppo.algo.klCoef': { type: 'float', low: 0.01, high: 0.5, log: true } },
      sampler: { type: 'random', seed: 3 },
      pruner: { type: 'median', nStartupTrials: 1 },
      metric: 'klCoef',
      direction: 'maximize',
      nTrials: trials,
      concurrency: 1,
      reportInterval: 1,
      storage: `sqlite:///${join(slurm.directory, 'sweeps.db')}`,
      trial: { resources: { CPU: 1 }, threads: 1 },
    });
    const baseRecipe = {
      name: 'bench-slurm-release',
      seed: 3,
      task: { name: 'sentiment' },
      model: MODEL,
      runtime: { address: headAddress, backend: 'wasm', threads: 1, slurm: { startTimeoutMs: 180_000, outputDirectory: slurm.directory } },
      checkpoint: { everySteps: 0 },
      logging: { level: 'warn', progress: false },
      stages: {
        ppo: {
          init: randomModels(slurm.directory),
          rollout: { batchSize: 8 },
          algo: { epochs: 1, minibatches: 2 },
          trainer: { steps: 3, learningRate: 1e-3, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
        },
      },
    };
    const plan = planSweep(config, baseRecipe, { runsDirectory: join(slurm.directory, 'runs') });
    const study = createStudy({ storage: config.storage, studyName: config.name, direction: config.direction, sampler: samplerFromConfig(config.sampler, config.space), pruner: prunerFromConfig(config.pruner) });

    // The running placement jobs, polled in the background: at a prune decision, the (only) one is the trial's.
    let running: string[] = [];
    const watcher = (async () => {
      while (watching) {
        running = (await slurm.commandAsync('squeue', ['--noheader', '--name=posttrain-placement', '--states=RUNNING', '--format=%i']).catch(() => '')).trim().split('\n').filter((id) => id !== '');
        await sleep(50);
      }
    })();
    const releases: Promise<number>[] = [];
    const stop = new AbortController();
    let problem: Error | undefined;
    const runTrial = trainerTrial({
      plan,
      runtime,
      metric: config.metric,
      reportInterval: config.reportInterval,
      onSweepProblem: (error) => {
        problem ??= error;
        stop.abort(error);
      },
    });
    const summary = await runSweep({
      study,
      space: config.space,
      trials,
      concurrency: 1,
      signal: stop.signal,
      runTrial: (trial, signals) =>
        runTrial(trial, {
          signal: signals.signal,
          onRelease: (release) => signals.onRelease(release),
          report: (value, step) => {
            const decided = performance.now();
            const jobs = [...running];
            const pruned = signals.report(value, step);
            if (pruned) {
              if (jobs.length !== 1) throw new Error(`expected the pruned trial's one Slurm job in squeue, saw ${JSON.stringify(jobs)}`);
              releases.push(untilGone(slurm, jobs[0] as string, decided));
            }
            return pruned;
          },
        }),
    });
    watching = false;
    await watcher;
    if (problem) throw problem;
    const release = await Promise.all(releases);
    const count = (state: string) => summary.trials.filter((trial) => trial.state === state).length;
    if (release.length === 0) throw new Error('no trial was pruned; run with more --trials');
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'slurm-release',
          machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map(round) },
          slurm: '2 slurmd hosts (network namespaces) on this machine, proctrack/linuxproc',
          sweep: { trials, complete: count('COMPLETE'), pruned: count('PRUNED'), failed: count('FAIL') },
          release_ms: release.map(round),
          release_ms_median: round(median(release)),
          release_ms_max: round(Math.max(...release)),
          sweep_release_ms: summary.releaseMs.map(round),
          peer: { bare_scancel_ms: bare.map(round), bare_scancel_ms_median: round(median(bare)), ray_tune_pruned_trial_held_gpus_s: '30-60 (production report)' },
          ratio_to_bare_scancel: round(median(release) / median(bare)),
          target_ms: 1000,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    watching = false;
    await runtime?.shutdown();
    slurm.destroy();
  }
}
