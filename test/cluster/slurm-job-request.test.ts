import { describe, expect, it } from 'vitest';
import { slurmJobRequest } from '../../runtime/cluster/slurm-job-request.ts';
import { fitsNodes } from '../../runtime/cluster/slurm-placement.ts';
import type { Resources } from '../../runtime/resources.ts';

/** Bundles and strategy -> sbatch options: hand-worked cases of each strategy. */
describe('slurmJobRequest', () => {
  const bundles: Resources[] = [{ CPU: 2, GPU: 1, memory: 3 * 2 ** 30 }, { CPU: 1.5, GPU: 1, memory: 2 ** 30, nvlink_group_0: 1 }];

  it('STRICT_SPREAD: one node per bundle, each sized to the largest bundle', () => {
    expect(slurmJobRequest(bundles, 'STRICT_SPREAD')).toEqual({
      args: ['--nodes=2', '--ntasks-per-node=1', '--cpus-per-task=2', '--gpus-per-task=1', '--mem=3072'],
      nodes: 2,
      offeredLabels: { nvlink_group_0: 1 },
    });
  });

  it('STRICT_PACK: one node holding the sum (fractional CPUs rounded up to whole ones)', () => {
    expect(slurmJobRequest(bundles, 'STRICT_PACK')).toEqual({
      args: ['--nodes=1', '--ntasks=1', '--cpus-per-task=4', '--gpus-per-task=2', '--mem=4096'],
      nodes: 1,
      offeredLabels: { nvlink_group_0: 1 },
    });
  });

  it('PACK and SPREAD: tasks placed by Slurm, SPREAD asking it to spread them', () => {
    const pack = slurmJobRequest([{ CPU: 0.5 }, { CPU: 0.5 }], 'PACK');
    expect(pack).toEqual({ args: ['--ntasks=2', '--cpus-per-task=1'], nodes: undefined, offeredLabels: {} });
    expect(slurmJobRequest([{ CPU: 4, memory: 2 ** 30 }], 'SPREAD').args).toEqual(['--ntasks=1', '--cpus-per-task=4', '--mem-per-cpu=256', '--spread-job']);
  });

  it('refuses bundles pinned to a node of the running cluster, naming the bundle', () => {
    expect(() => slurmJobRequest([{ CPU: 1 }, { CPU: 1, 'node:gpu-3': 0.01 }], 'PACK')).toThrow(/bundles\.1\.node:gpu-3/);
  });
});

/** Whether the running cluster's own nodes could ever hold a group: hand-worked cases of each strategy. */
describe('fitsNodes', () => {
  const two = [{ CPU: 1 }, { CPU: 1 }];
  it('STRICT_SPREAD needs a node per bundle; STRICT_PACK the sum on one node; PACK any node per bundle', () => {
    expect(fitsNodes(two, 'STRICT_SPREAD', [{ CPU: 4 }])).toBe(false);
    expect(fitsNodes(two, 'STRICT_SPREAD', [{ CPU: 1 }, { CPU: 1 }])).toBe(true);
    expect(fitsNodes(two, 'STRICT_PACK', [{ CPU: 1 }, { CPU: 1 }])).toBe(false);
    expect(fitsNodes(two, 'STRICT_PACK', [{ CPU: 2 }])).toBe(true);
    expect(fitsNodes([{ CPU: 2 }, { CPU: 1 }, { CPU: 1 }], 'PACK', [{ CPU: 2 }, { CPU: 2 }])).toBe(true);
    expect(fitsNodes([{ CPU: 1, GPU: 1 }], 'PACK', [{ CPU: 8 }])).toBe(false);
    expect(fitsNodes(two, 'PACK', [])).toBe(false);
  });
});
