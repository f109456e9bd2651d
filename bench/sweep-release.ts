/**
 * `npm run bench -- sweep-release [--trials 16] [--concurrency 4] [--steps 10]`
 *
 * How fast a pruned sweep trial gives its resources back: the toy PPO sweep of the e2e test
 * (test/tune/fixtures/tiny-ppo-sweep.ts: one-layer width-32 model, rollouts of 8, median pruner), trials on one
 * runtime with 4 logical GPUs, each trial { CPU: 0.5, GPU: 1 } in its own placement group. `release_ms` is measured by the sweep itself for every pruned trial: from the prune decision
 * until the trial's placement groups are removed (reservation free) and its worker processes have exited.
 *
 * The peer figure is the production one this replaces (Ray Tune + Optuna: a pruned trial held its GPU 30-60 s);
 * the target is p99 < 1,000 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../runtime/index.ts';
import { parseSweepConfig } from '../tune/index.ts';
import { launchSweep } from '../tune/sweep-launcher.ts';
import tinyPpo from '../test/tune/fixtures/tiny-ppo-recipe.ts';
import { tinyPpoSweep } from '../test/tune/fixtures/tiny-ppo-sweep.ts';
import { parseFlags } from './_flags.ts';

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { trials: 'number', concurrency: 'number', steps: 'number' });
  const trials = flags['trials'] ?? 16;
  const concurrency = flags['concurrency'] ?? 4;
  const steps = flags['steps'] ?? 10;
  const directory = mkdtempSync(join(tmpdir(), 'posttrain-bench-sweep-'));
  const config = parseSweepConfig({
    ...tinyPpoSweep,
    name: 'bench-sweep',
    overrides: { 'stages.ppo.trainer.steps': steps },
    nTrials: trials,
    concurrency,
    storage: `sqlite:///${join(directory, 'sweeps.db')}`,
  });
  const runtime = await Runtime.start({ namespace: 'bench-sweep', nodes: tinyPpoSweep.nodes });
  try {
    const report = await launchSweep({ config, baseRecipe: tinyPpo, runtime, runsDirectory: join(directory, 'runs') });
    const sharedSeconds = Object.values(report.sharedStages).reduce((sum, stage) => sum + (Number(stage.wallSeconds) || 0), 0);
    const result = {
      bench: 'sweep-release',
      machine: { cpus: cpus().length, model: cpus()[0]?.model },
      trials,
      concurrency,
      ppo_steps: steps,
      complete: report.trials.complete,
      pruned: report.trials.pruned,
      failed: report.trials.failed,
      release_ms_p50: report.releaseMs.p50,
      release_ms_p99: report.releaseMs.p99,
      release_ms_max: report.releaseMs.max,
      target_release_ms_p99: 1000,
      production_release_ms: [30_000, 60_000],
      leaks: report.leaks,
      sweep_wall_s: Math.round(report.wallSeconds * 10) / 10,
      shared_stages_s: Math.round(sharedSeconds * 10) / 10,
      load_average_1m: loadavg()[0],
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await runtime.shutdown();
    rmSync(directory, { recursive: true, force: true });
  }
}
