/**
 * How a placement group's bundles become a Slurm job request: the sbatch options that make Slurm reserve machines
 * on which the bundles fit, with the strategy as node constraints (Ray's semantics, ARCHITECTURE.md section 2):
 *
 * - STRICT_SPREAD: one node per bundle (`--nodes=N --ntasks-per-node=1`), each sized to the largest bundle;
 * - STRICT_PACK: one node holding every bundle (`--nodes=1 --ntasks=1`), sized to their sum;
 * - PACK / SPREAD: N tasks sized to the largest bundle, placed by Slurm (as few nodes as fit; SPREAD adds
 *   `--spread-job`), the way those strategies are preferences rather than rules.
 *
 * CPU becomes `--cpus-per-task` (whole CPUs, at least one), GPU `--gpus-per-task`, memory (bytes) `--mem` per node
 * (`--mem-per-cpu` for PACK/SPREAD). Custom labels cannot be asked of Slurm: the job's node agents offer them
 * (`offeredLabels`). A bundle pinned to a node of the running cluster (`node:<id>`) cannot come from a new job.
 *
 * @example
 * slurmJobRequest([{ CPU: 2, GPU: 1 }, { CPU: 2, GPU: 1 }], 'STRICT_SPREAD');
 * // { args: ['--nodes=2', '--ntasks-per-node=1', '--cpus-per-task=2', '--gpus-per-task=1'], nodes: 2, offeredLabels: {} }
 */
import { ConfigError } from '../errors.ts';
import type { PlacementStrategy } from '../control/control-plane.ts';
import type { Resources } from '../resources.ts';

export interface SlurmJobRequest {
  /** sbatch options for the shape of the job (partition, account and the like are added by the caller). */
  args: string[];
  /** Nodes the job will have; undefined for PACK / SPREAD, where Slurm decides. */
  nodes: number | undefined;
  /** Custom resources the job's node agents offer, summed over the bundles (e.g. `{ nvlink_group_0: 2 }`). */
  offeredLabels: Record<string, number>;
}

const SLURM_RESOURCES = new Set(['CPU', 'GPU', 'memory']);
const MEBIBYTE = 2 ** 20;

export function slurmJobRequest(bundles: readonly Resources[], strategy: PlacementStrategy): SlurmJobRequest {
  if (bundles.length === 0) throw new ConfigError([{ path: 'bundles', message: 'a placement group requested from Slurm needs at least one bundle' }]);
  const issues: { path: string; message: string }[] = [];
  const offeredLabels: Record<string, number> = {};
  bundles.forEach((bundle, index) => {
    for (const [resource, amount] of Object.entries(bundle)) {
      if (resource.startsWith('node:')) {
        issues.push({ path: `bundles.${index}.${resource}`, message: `pins the bundle to a node of the running cluster; a Slurm job brings new nodes, so drop the pin or give the cluster that node` });
      } else if (!SLURM_RESOURCES.has(resource)) {
        offeredLabels[resource] = (offeredLabels[resource] ?? 0) + amount;
      }
    }
  });
  if (issues.length > 0) throw new ConfigError(issues);
  const largest = (resource: string) => Math.max(...bundles.map((bundle) => bundle[resource] ?? 0));
  const total = (resource: string) => bundles.reduce((sum, bundle) => sum + (bundle[resource] ?? 0), 0);
  const shape = (cpus: number, gpus: number) => [`--cpus-per-task=${Math.max(1, Math.ceil(cpus))}`, ...(gpus > 0 ? [`--gpus-per-task=${Math.ceil(gpus)}`] : [])];
  const megabytes = (bytes: number) => Math.ceil(bytes / MEBIBYTE);

  if (strategy === 'STRICT_SPREAD') {
    const memory = largest('memory');
    return {
      args: [`--nodes=${bundles.length}`, '--ntasks-per-node=1', ...shape(largest('CPU'), largest('GPU')), ...(memory > 0 ? [`--mem=${megabytes(memory)}`] : [])],
      nodes: bundles.length,
      offeredLabels,
    };
  }
  if (strategy === 'STRICT_PACK') {
    const memory = total('memory');
    return { args: ['--nodes=1', '--ntasks=1', ...shape(total('CPU'), total('GPU')), ...(memory > 0 ? [`--mem=${megabytes(memory)}`] : [])], nodes: 1, offeredLabels };
  }
  const cpus = Math.max(1, Math.ceil(largest('CPU')));
  const memory = largest('memory');
  return {
    args: [`--ntasks=${bundles.length}`, ...shape(cpus, largest('GPU')), ...(memory > 0 ? [`--mem-per-cpu=${Math.ceil(megabytes(memory) / cpus)}`] : []), ...(strategy === 'SPREAD' ? ['--spread-job'] : [])],
    nodes: undefined,
    offeredLabels,
  };
}
