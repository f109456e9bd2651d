import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOurNamespaces } from '../../deploy/dev-cluster/netns.ts';
import { startSlurmCluster, type SlurmTestCluster } from '../../deploy/dev-cluster/slurm.ts';
import { slurmAvailable } from './slurm-harness.ts';

/**
 * The harness gives a real Slurm: a two-node batch job runs one step per node, each in its own host with its own
 * address and the CPUs and memory Slurm granted; and teardown leaves no daemon and no namespace behind.
 */
describe.skipIf(!slurmAvailable())('a test Slurm cluster on network-namespace hosts', () => {
  let slurm: SlurmTestCluster;

  beforeAll(async () => {
    slurm = await startSlurmCluster({ nodes: 2, cpusPerNode: 2 });
  }, 90_000);
  afterAll(() => slurm?.destroy());

  it('runs a batch job with one step per node, each on its own address', async () => {
    const script = join(slurm.directory, 'where.sbatch');
    const output = join(slurm.directory, 'where.out');
    const lines = ['#!/bin/bash', 'srun --ntasks-per-node=1 sh -c \'echo "$SLURMD_NODENAME $SLURM_CPUS_ON_NODE $SLURM_MEM_PER_NODE $(ip -4 -o addr show eth0 | tr -s " " | cut -d" " -f4)"\''];
    writeFileSync(script, `${lines.join('\n')}\n`);
    const job = slurm.submit(['--nodes=2', '--cpus-per-task=2', '--mem=512', `--output=${output}`, script]);
    expect(await slurm.waitForJobEnd(job, 60_000, output)).toBe('COMPLETED');
    const steps = readFileSync(output, 'utf8').trim().split('\n').sort();
    expect(steps).toEqual([`sn0 2 512 ${slurm.nodes[0]?.host.address}/24`, `sn1 2 512 ${slurm.nodes[1]?.host.address}/24`]);
  }, 90_000);

  it('tears down every daemon and namespace', async () => {
    const prefix = slurm.net.prefix;
    const directory = slurm.directory;
    slurm.destroy();
    expect(listOurNamespaces().filter((name) => name.startsWith(prefix))).toEqual([]);
    expect(existsSync(directory)).toBe(false);
  });
});
