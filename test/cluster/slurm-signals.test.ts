/**
 * Which processes take Slurm's SIGTERM as the driver's stop notice: those posttrain's Slurm scripts started in this
 * job (POSTTRAIN_SLURM_JOB equal to SLURM_JOB_ID), not a head or agent a user starts by hand inside `salloc`, and
 * not one that inherited the variable from another job. test/cluster/slurm-ppo.test.ts checks the behaviour itself.
 */
import { expect, it } from 'vitest';
import { insideSlurmJob } from '../../runtime/cluster/slurm-signals.ts';

it.each([
  { case: 'a process posttrain.sbatch or posttrain-node.sh started', env: { SLURM_JOB_ID: '42', POSTTRAIN_SLURM_JOB: '42' }, inside: true },
  { case: 'a head started by hand inside salloc', env: { SLURM_JOB_ID: '42' }, inside: false },
  { case: 'a process that inherited another job’s variable', env: { SLURM_JOB_ID: '43', POSTTRAIN_SLURM_JOB: '42' }, inside: false },
  { case: 'a process outside Slurm', env: { POSTTRAIN_SLURM_JOB: '' }, inside: false },
])('$case: inside a posttrain Slurm job is $inside', ({ env, inside }) => {
  expect(insideSlurmJob(env)).toBe(inside);
});
