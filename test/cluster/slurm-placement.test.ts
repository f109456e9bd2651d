import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmPlacementGroups } from '../../runtime/cluster/slurm-placement.ts';
import { Runtime } from '../../runtime/index.ts';
import type { NetnsHost } from '../../deploy/dev-cluster/netns.ts';
import { PPOTrainer } from '../../trainers/index.ts';
import { TINY_MODEL, randomModelFiles, scratchDirectory, testLogging } from '../trainers/helpers.ts';
import { startSlurmCluster, type SlurmTestCluster } from '../../deploy/dev-cluster/slurm.ts';
import { slurmAvailable } from './slurm-harness.ts';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const recipe = join(repositoryRoot, 'bin', 'recipe.js');

/**
 * A placement group that the running cluster (a head with no nodes) can never hold becomes a Slurm job whose
 * agents join the head; the group lands on that job's nodes with its strategy kept (STRICT_SPREAD: one node per
 * bundle), and removing the group cancels the job, so that Slurm shows it gone.
 */
describe.skipIf(!slurmAvailable())('placement groups requested from Slurm', () => {
  let slurm: SlurmTestCluster;
  let runtime: Runtime | undefined;
  let groups: SlurmPlacementGroups;
  let headAddress: string;
  const token = randomBytes(24).toString('hex');

  beforeAll(async () => {
    slurm = await startSlurmCluster({ nodes: 2, cpusPerNode: 2, attachTestProcess: true });
    const controller = slurm.net.hosts[0] as NetnsHost;
    headAddress = await slurm.startPosttrainHead(token);
    runtime = await Runtime.start({ address: headAddress, host: slurm.net.testAddress as string, token, namespace: 'slurm-placement' });
    // The job's agents get this environment (sbatch --export=ALL): the token, Slurm's config, how to start posttrain.
    const env: NodeJS.ProcessEnv = { ...process.env, POSTTRAIN_TOKEN: token, SLURM_CONF: slurm.conf, POSTTRAIN_RECIPE_COMMAND: `${process.execPath} ${recipe}` };
    delete env.VITEST;
    groups = new SlurmPlacementGroups(runtime, {
      headAddress,
      commandPrefix: ['ip', 'netns', 'exec', controller.namespace],
      env,
      outputDirectory: slurm.directory,
      startTimeoutMs: 120_000,
    });
  }, 120_000);
  afterAll(async () => {
    await runtime?.shutdown();
    slurm?.destroy();
  });

  it('a STRICT_SPREAD group that does not fit becomes a two-node Slurm job; removing the group cancels it', async () => {
    const group = await groups.create({ bundles: [{ CPU: 1 }, { CPU: 1 }], strategy: 'STRICT_SPREAD' });
    expect(group.jobId).toMatch(/^\d+$/);
    await group.placementGroup.ready({ timeoutMs: 30_000 });
    // One bundle on each of the job's nodes, whose agents are named after their Slurm node and the job.
    expect([...group.placementGroup.bundleNodes].sort()).toEqual([`sn0-job${group.jobId}`, `sn1-job${group.jobId}`]);

    // The job's nodes are its group's alone: another group, small enough for their spare CPUs, gets a job too.
    const small = await groups.create({ bundles: [{ CPU: 0.5 }], strategy: 'PACK' });
    expect(small.jobId).toMatch(/^\d+$/);
    expect(small.jobId).not.toBe(group.jobId);
    await small.remove();

    await group.remove();
    expect(group.placementGroup.state).toBe('removed');
    const queued = async () => (await slurm.commandAsync('squeue', ['--noheader', '--jobs', group.jobId as string, '--format=%i'])).trim();
    for (let waited = 0; (await queued()) !== ''; waited += 100) {
      if (waited > 30_000) throw new Error(`job ${group.jobId} still in squeue: ${await queued()}`);
      await sleep(100);
    }
    expect(await slurm.jobState(group.jobId as string)).toBe('CANCELLED');
  }, 180_000);

  it('runtime.slurm: a PPO run on a cluster with no nodes gets its roles a Slurm job, cancelled when the run ends', async () => {
    const scratch = scratchDirectory('slurm-roles');
    const task = { name: 'sentiment' as const };
    const models = randomModelFiles(scratch.path, task);
    const saved = { ...process.env };
    // What the driver's machine has on a Slurm cluster: Slurm's clients configured, the token, how to start posttrain.
    Object.assign(process.env, { SLURM_CONF: slurm.conf, POSTTRAIN_TOKEN: token, POSTTRAIN_RECIPE_COMMAND: `${process.execPath} ${recipe}` });
    try {
      // Every job slurmctld remembers (ended ones too, MinJobAge): id -> state.
      const jobs = async () => new Map([...(await slurm.commandAsync('scontrol', ['show', 'job', '--oneliner'])).matchAll(/JobId=(\d+) .*?JobState=(\S+)/g)].map((match) => [match[1], match[2]]));
      const before = await jobs();
      const summary = await new PPOTrainer({
        name: 'slurm-roles',
        seed: 3,
        task,
        model: TINY_MODEL,
        init: { policy: models.language, reward: models.reward },
        runtime: { address: headAddress, backend: 'wasm', threads: 1, slurm: { startTimeoutMs: 120_000, outputDirectory: scratch.path } },
        rollout: { batchSize: 8 },
        algo: { epochs: 1, minibatches: 2 },
        trainer: { steps: 2, learningRate: 1e-3, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
        checkpoint: { everySteps: 0 },
        logging: testLogging(scratch.path),
      }).train();
      expect(summary.steps).toBe(2);
      // The run's job ran its roles and was cancelled at the end: squeue soon lists nothing (its agents stop their
      // workers first), and slurmctld remembers it cancelled.
      for (let waited = 0; (await slurm.commandAsync('squeue', ['--noheader', '--format=%i'])).trim() !== ''; waited += 100) {
        if (waited > 30_000) throw new Error('the run\'s Slurm job is still in squeue 30 s after the run ended');
        await sleep(100);
      }
      const started = [...(await jobs())].filter(([id]) => !before.has(id));
      expect(started.map(([, state]) => state)).toEqual(['CANCELLED']);
    } finally {
      process.env = saved;
      scratch.remove();
    }
  }, 300_000);

  it('a group pinned to a node of the running cluster cannot come from Slurm, and says so', async () => {
    await expect(groups.create({ bundles: [{ CPU: 1, 'node:elsewhere': 0.01 }], strategy: 'PACK' })).rejects.toThrow(/bundles\.0\.node:elsewhere.*pins the bundle/);
  });
});
