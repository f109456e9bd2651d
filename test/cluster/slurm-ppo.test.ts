import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TINY_MODEL, randomModelFiles, scratchDirectory } from '../trainers/helpers.ts';
import { startSlurmCluster, type SlurmTestCluster } from '../../deploy/dev-cluster/slurm.ts';
import { slurmAvailable } from './slurm-harness.ts';
import { stepRecords as stepMetrics } from './two-node-ppo.ts';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const recipeCommand = `${process.execPath} ${join(repositoryRoot, 'bin', 'recipe.js')}`;
const sbatchScript = join(repositoryRoot, 'deploy', 'slurm', 'posttrain.sbatch');
const STEPS = 5;
/**
 * slurm.conf KillWait: Slurm's SIGTERM -> SIGKILL on a plain scancel, the time the driver has to finish its step and
 * checkpoint. Slurm's default is 30 s; twice that here, since one tiny step takes seconds on a loaded 2-core CI machine.
 */
const KILL_WAIT_SECONDS = 60;

/**
 * `deploy/slurm/posttrain.sbatch` on a real Slurm (two slurmd hosts, see deploy/dev-cluster/slurm.ts): the head and the driver
 * on the first node, an agent per node. Where roles run and how often the run is stopped and continued do not
 * change the numbers: on the wasm backend with one thread every step is computed the same way, so the metrics of
 * a PPO run spread over the two Slurm nodes, and of one stopped by a plain `scancel` or by Slurm's USR1 notice and
 * continued in a new job, equal those of the same recipe on one embedded node.
 */
describe.skipIf(!slurmAvailable())('PPO through sbatch on a two-node Slurm cluster', () => {
  const scratch = scratchDirectory('slurm-ppo');
  let slurm: SlurmTestCluster;
  let single: Record<string, unknown>[];
  let lastJobOutput: string | undefined;

  beforeEach((context) => {
    context.onTestFailed(() => {
      if (lastJobOutput === undefined) return;
      let text = '';
      try {
        text = readFileSync(lastJobOutput, 'utf8').slice(-5_000);
      } catch {
        text = '(no output file)';
      }
      console.error(`output of the last Slurm job (${lastJobOutput}):\n${text}`);
    });
  });

  /** The recipe a user would write: policy with its helpers in one process on sn0, the value group on sn1. */
  function writeRecipe(file: string, options: { pinned: boolean }): string {
    const models = randomModelFiles(scratch.path, { name: 'sentiment' });
    const pin = (node: string) => (options.pinned ? { [`node:${node}`]: 0.01 } : {});
    const recipe = {
      name: 'slurm-ppo',
      seed: 3,
      task: { name: 'sentiment' },
      model: TINY_MODEL,
      runtime: {
        backend: 'wasm',
        threads: 1,
        colocate: [['policy', 'rollout', 'reference', 'reward'], ['value']],
        roles: { policy: { resources: { CPU: 1, ...pin('sn0') } }, value: { resources: { CPU: 1, ...pin('sn1') } } },
      },
      logging: { level: 'warn', progress: false },
      stages: {
        ppo: {
          init: { policy: models.language, reward: models.reward },
          rollout: { batchSize: 8 },
          algo: { epochs: 1, minibatches: 2 },
          trainer: { steps: STEPS, learningRate: 1e-3, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
        },
      },
    };
    const path = join(scratch.path, file);
    writeFileSync(path, `export default ${JSON.stringify(recipe)};\n`);
    return path;
  }

  /** Each step's line of a run's ppo/metrics.jsonl, without the fields that measure time; none before it exists. */
  function stepRecords(runDirectory: string): Record<string, unknown>[] {
    const file = join(runDirectory, 'ppo', 'metrics.jsonl');
    return existsSync(file) ? stepMetrics(file) : [];
  }

  /** Submit posttrain.sbatch on both nodes with `env` as the job's extra environment; returns the job id. */
  function submit(label: string, env: Record<string, string>): string {
    lastJobOutput = join(scratch.path, `${label}.out`);
    const jobEnv: NodeJS.ProcessEnv = { ...process.env, POSTTRAIN_RECIPE_COMMAND: recipeCommand, POSTTRAIN_SLURM_LOGS: join(scratch.path, `${label}-logs`), POSTTRAIN_LOG_LEVEL: 'info', ...env };
    delete jobEnv.VITEST;
    return slurm.submit(['--nodes=2', '--mem=1024', `--output=${lastJobOutput}`, `--chdir=${repositoryRoot}`, '--export=ALL', sbatchScript], jobEnv);
  }

  beforeAll(async () => {
    slurm = await startSlurmCluster({ nodes: 2, cpusPerNode: 2, killWaitSeconds: KILL_WAIT_SECONDS });
    // The uninterrupted run on one embedded node, through the same CLI the job's driver runs.
    const recipe = writeRecipe('single.mjs', { pinned: false });
    const child = spawn(process.execPath, [join(repositoryRoot, 'bin', 'recipe.js'), 'run', recipe, '--runs-dir', join(scratch.path, 'single')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`the single-node run failed (${code}):\n${stderr.slice(-3_000)}`);
    single = stepRecords(join(scratch.path, 'single', 'slurm-ppo'));
  }, 240_000);
  afterAll(() => {
    slurm?.destroy();
    scratch.remove();
  });

  it('a run across the two Slurm nodes matches the single-node run step for step', async () => {
    const recipe = writeRecipe('pinned.mjs', { pinned: true });
    const runs = join(scratch.path, 'two-nodes');
    const job = submit('two-nodes', { RECIPE: recipe, ARGS: `--runs-dir ${runs}` });
    expect(await slurm.waitForJobEnd(job, 240_000, lastJobOutput)).toBe('COMPLETED');

    expect(single.map((record) => record.step)).toEqual(Array.from({ length: STEPS }, (_, index) => index + 1));
    expect(Object.keys(single[0] ?? {})).toEqual(expect.arrayContaining(['policyLoss', 'valueLoss', 'weightChecksum']));
    expect(stepRecords(join(runs, 'slurm-ppo'))).toEqual(single);
    // Each node ran an agent that offered what Slurm granted the job there (2 CPUs, --mem=1024) under its Slurm name.
    const head = readFileSync(join(scratch.path, 'two-nodes-logs', 'head.log'), 'utf8');
    for (const node of ['sn0', 'sn1']) {
      const joined = head.split('\n').find((line) => line.includes(`"msg":"node ${node} joined`));
      expect(JSON.parse(joined ?? '{}')).toMatchObject({ resources: { CPU: 2, GPU: 0, memory: 1024 * 2 ** 20, [`node:${node}`]: 1 } });
    }
  }, 240_000);

  /**
   * Start the recipe in one job, stop it with `stop(jobId)` once its first step is logged, and continue it with
   * `recipe resume` in a second job; returns the step it stopped at and the first job's final state.
   */
  async function stopAndResume(label: string, stop: (jobId: string) => void): Promise<{ stoppedAt: number; stoppedState: string }> {
    const recipe = writeRecipe('pinned.mjs', { pinned: true });
    const runs = join(scratch.path, label);
    const run = join(runs, 'slurm-ppo');
    const first = submit(label, { RECIPE: recipe, ARGS: `--runs-dir ${runs}` });
    for (let waited = 0; stepRecords(run).length < 1; waited += 100) {
      if (waited > 180_000) throw new Error('the first step never finished');
      await sleep(100);
    }
    stop(first);
    const stoppedState = await slurm.waitForJobEnd(first, 180_000, lastJobOutput);
    const stoppedAt = stepRecords(run).length;
    expect(stoppedAt).toBeLessThan(STEPS);
    // The step in flight was finished and checkpointed: the checkpoint is at the last logged step.
    const stopped = JSON.parse(readFileSync(join(run, 'ppo', 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(stopped).toMatchObject({ stoppedBy: 'SIGTERM', lastCheckpoint: { step: stoppedAt } });
    expect(stepRecords(run)).toEqual(single.slice(0, stoppedAt));

    const second = submit(`${label}-resumed`, { POSTTRAIN_RESUME: run });
    expect(await slurm.waitForJobEnd(second, 240_000, lastJobOutput)).toBe('COMPLETED');
    expect(stepRecords(run)).toEqual(single);
    const resumed = JSON.parse(readFileSync(join(run, 'ppo', 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(resumed).toMatchObject({ resumedFrom: { step: stoppedAt } });
    expect(resumed.stoppedBy).toBeUndefined();
    return { stoppedAt, stoppedState };
  }

  it('a plain scancel mid-run checkpoints the step in flight; recipe resume in a new job finishes with the uninterrupted metrics', async () => {
    // Every process of the job gets Slurm's SIGTERM at once (workers included) and SIGKILL after KillWait: the
    // driver finishes its step and checkpoints while the head, agents and workers keep serving it.
    const { stoppedAt, stoppedState } = await stopAndResume('cancelled', (job) => slurm.command('scancel', [job]));
    expect(stoppedState).toBe('CANCELLED');
    expect(stoppedAt).toBeGreaterThanOrEqual(1);
    // The job's own log says how long Slurm gives the driver (the harness's KillWait).
    expect(readFileSync(join(scratch.path, 'cancelled.out'), 'utf8')).toContain(`leaves the driver ${KILL_WAIT_SECONDS} s to finish its step`);
  }, 480_000);

  it("Slurm's USR1 notice mid-run checkpoints and exits cleanly; recipe resume in a new job finishes with the uninterrupted metrics", async () => {
    // What Slurm sends before the time limit (--signal=B:USR1@120), on preemption with send_user_signal, and what
    // a user sends to stop a job gracefully: USR1 to the batch script alone.
    const { stoppedState } = await stopAndResume('noticed', (job) => slurm.command('scancel', ['--batch', '--signal=USR1', job]));
    expect(stoppedState).toBe('COMPLETED');
  }, 480_000);
});
