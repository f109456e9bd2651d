/**
 * `npm run bench -- slurm-release [--rounds 5]`   (root, with slurm-wlm, munge and iproute2 installed)
 *
 * How fast a placement group requested from Slurm gives its machines back: on a real Slurm of two slurmd hosts
 * (deploy/dev-cluster/slurm.ts), each round reserves a STRICT_SPREAD group of two bundles as its own Slurm job
 * (runtime/cluster/slurm-placement.ts) with one actor in it, then removes the group the way a sweep removes a pruned
 * trial's. `release_ms`: from the remove call (the pruner's decision) until `squeue` no longer lists the job.
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
import { SlurmPlacementGroups } from '../runtime/cluster/slurm-placement.ts';
import { Runtime } from '../runtime/index.ts';
import type { NetnsHost } from '../deploy/dev-cluster/netns.ts';
import { startSlurmCluster, type SlurmTestCluster } from '../deploy/dev-cluster/slurm.ts';
import { parseFlags } from './_flags.ts';
import type { ObjectBench } from './_object-actor.ts';

const recipe = fileURLToPath(new URL('../bin/recipe.js', import.meta.url));
const actorModule = new URL('./_object-actor.ts', import.meta.url);

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

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { rounds: 'number' });
  const rounds = flags.rounds ?? 5;
  const slurm = await startSlurmCluster({ nodes: 2, cpusPerNode: 2, attachTestProcess: true });
  let runtime: Runtime | undefined;
  try {
    const token = randomBytes(24).toString('hex');
    const controller = slurm.net.hosts[0] as NetnsHost;
    const headAddress = await slurm.startPosttrainHead(token);
    runtime = await Runtime.start({ address: headAddress, host: slurm.net.testAddress as string, token, namespace: 'bench-slurm-release' });
    const groups = new SlurmPlacementGroups(runtime, {
      headAddress,
      commandPrefix: ['ip', 'netns', 'exec', controller.namespace],
      env: { ...process.env, POSTTRAIN_TOKEN: token, SLURM_CONF: slurm.conf, POSTTRAIN_RECIPE_COMMAND: `${process.execPath} ${recipe}`, POSTTRAIN_LOG_LEVEL: 'warn' },
      outputDirectory: slurm.directory,
      startTimeoutMs: 180_000,
    });

    const bare: number[] = [];
    const release: number[] = [];
    const removeReturned: number[] = [];
    for (let index = 0; index < rounds; index++) {
      const script = join(slurm.directory, 'sleep.sbatch');
      writeFileSync(script, '#!/bin/bash\nsrun --ntasks-per-node=1 sleep 600\n');
      const job = slurm.submit(['--nodes=2', `--output=${slurm.directory}/sleep-%j.out`, script]);
      await slurm.waitForJobRunning(job);
      await sleep(500);
      const cancelled = performance.now();
      slurm.command('scancel', [job]);
      bare.push(await untilGone(slurm, job, cancelled));

      const group = await groups.create({ bundles: [{ CPU: 1 }, { CPU: 1 }], strategy: 'STRICT_SPREAD' });
      await group.placementGroup.ready({ timeoutMs: 60_000 });
      // A trial's worker: started on one of the job's nodes and answering before the prune.
      const actor = await runtime.createActor<typeof ObjectBench>({ module: actorModule, exportName: 'ObjectBench', placementGroup: group.placementGroup, bundleIndex: 0, resources: { CPU: 1 } });
      (await actor.call('make', 4, 1)).release();
      const decided = performance.now();
      await group.remove();
      removeReturned.push(performance.now() - decided);
      release.push(await untilGone(slurm, group.jobId as string, decided));
    }
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'slurm-release',
          machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map(round) },
          slurm: '2 slurmd hosts (network namespaces) on this machine, proctrack/linuxproc',
          rounds,
          release_ms: release.map(round),
          release_ms_median: round(median(release)),
          release_ms_max: round(Math.max(...release)),
          remove_call_ms: removeReturned.map(round),
          peer: { bare_scancel_ms: bare.map(round), bare_scancel_ms_median: round(median(bare)), ray_tune_pruned_trial_held_gpus_s: '30-60 (production report)' },
          ratio_to_bare_scancel: round(median(release) / median(bare)),
          target_ms: 1000,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await runtime?.shutdown();
    slurm.destroy();
  }
}
