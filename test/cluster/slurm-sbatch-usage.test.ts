import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const sbatchScript = join(fileURLToPath(new URL('../..', import.meta.url)), 'deploy', 'slurm', 'posttrain.sbatch');

/** A user mistake with the batch script is a message and exit code 2, before anything starts. */
it.each([
  { case: 'outside an allocation', env: { RECIPE: 'recipes/ppo.ts' }, message: 'not inside a Slurm allocation' },
  { case: 'with neither RECIPE nor POSTTRAIN_RESUME', env: { SLURM_JOB_ID: '1' }, message: 'set RECIPE' },
])('posttrain.sbatch $case exits 2 and says what to do', ({ env, message }) => {
  const result = spawnSync('bash', [sbatchScript], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(message);
});
