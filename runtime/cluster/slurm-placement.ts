/**
 * Slurm as the source of placement groups: a group that the running cluster can never hold is requested from
 * Slurm as a job (bundles -> nodes, CPUs, GPUs, memory; the strategy as node constraints, see
 * slurm-job-request.ts). The job runs one node agent per node (`deploy/slurm/posttrain-node.sh`) that joins this
 * cluster's head, offering a label unique to the group, and the group is reserved on those nodes only. Removing
 * the group kills its actors and cancels the job in the same call, so the machines go back to Slurm's other users
 * at once (a pruned sweep trial's GPUs; `npm run bench -- slurm-release` measures the release).
 *
 * A group that the running cluster's own nodes could hold is reserved there as usual; no job is submitted.
 *
 * @example
 * const slurm = new SlurmPlacementGroups(runtime, { headAddress: '10.0.0.1:6380', partition: 'gpu', account: 'rlhf' });
 * const trial = await slurm.create({ bundles: [{ CPU: 8, GPU: 1 }, { CPU: 8, GPU: 1 }], strategy: 'STRICT_SPREAD' });
 * // ... actors with placementGroup: trial.placementGroup ...
 * await trial.remove();   // actors killed, `scancel` at once
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PosttrainError } from '../errors.ts';
import type { PlacementGroup } from '../actor/placement-group.ts';
import type { PlacementStrategy } from '../control/control-plane.ts';
import type { Resources } from '../resources.ts';
import type { PlacementGroupOptions, Runtime } from '../runtime.ts';
import { slurmJobRequest } from './slurm-job-request.ts';

const execFileAsync = promisify(execFile);

export interface SlurmPlacementOptions {
  /** `host:port` of this cluster's head, as the job's nodes reach it. */
  headAddress: string;
  /** sbatch `--partition`; default: the cluster's default partition. */
  partition?: string;
  /** sbatch `--account`. */
  account?: string;
  /** sbatch `--qos`. */
  qos?: string;
  /** sbatch `--time` of each job, e.g. `4:00:00`; default: the partition's limit. */
  timeLimit?: string;
  /** More sbatch arguments, e.g. `['--constraint=a100']`. */
  extraArgs?: string[];
  /** How long a job may wait in Slurm's queue and for its agents to join before `create` gives up (default 10 min). */
  startTimeoutMs?: number;
  /** The per-node agent script; default this repository's `deploy/slurm/posttrain-node.sh`. */
  nodeScript?: string;
  /** Environment of the Slurm commands and the job (the token, `SLURM_CONF`, `POSTTRAIN_RECIPE_COMMAND`); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Prefix of every Slurm command, e.g. `['ssh', 'login-node']`; default none. */
  commandPrefix?: string[];
  /** Where each job writes its output (sbatch `--output`); default Slurm's (the submit directory). */
  outputDirectory?: string;
}

/** A placement group reserved on the nodes of its own Slurm job (or on the running cluster, with no job). */
export interface SlurmPlacementGroup {
  placementGroup: PlacementGroup;
  /** The Slurm job holding its nodes; undefined when the running cluster held the group. */
  jobId: string | undefined;
  /** Kill the group's actors and cancel its job, both at once. */
  remove(): Promise<void>;
}

/** Resource every agent of a group's Slurm job offers: `slurm_group_<random>`. */
const GROUP_LABEL_PREFIX = 'slurm_group_';

/**
 * Whether nodes with these totals could ever hold the bundles under the strategy (nothing else running):
 * STRICT_PACK needs their sum on one node, STRICT_SPREAD a distinct node per bundle, PACK and SPREAD some node for
 * each bundle (greedy, largest bundle first).
 *
 * @example
 * fitsNodes([{ CPU: 1 }, { CPU: 1 }], 'STRICT_SPREAD', [{ CPU: 4 }]);   // false: one node for two bundles
 */
export function fitsNodes(bundles: readonly Resources[], strategy: PlacementStrategy, totals: readonly Resources[]): boolean {
  const fits = (bundle: Resources, total: Resources) => Object.entries(bundle).every(([resource, amount]) => (total[resource] ?? 0) >= amount);
  if (strategy === 'STRICT_PACK') {
    const sum: Resources = {};
    for (const bundle of bundles) for (const [resource, amount] of Object.entries(bundle)) sum[resource] = (sum[resource] ?? 0) + amount;
    return totals.some((total) => fits(sum, total));
  }
  const free = totals.map((total) => ({ ...total }));
  const order = [...bundles].sort((a, b) => (b.CPU ?? 0) - (a.CPU ?? 0) || (b.GPU ?? 0) - (a.GPU ?? 0));
  const used = new Set<number>();
  for (const bundle of order) {
    const index = free.findIndex((total, candidate) => !(strategy === 'STRICT_SPREAD' && used.has(candidate)) && fits(bundle, total));
    if (index < 0) return false;
    used.add(index);
    for (const [resource, amount] of Object.entries(bundle)) (free[index] as Resources)[resource] = ((free[index] as Resources)[resource] ?? 0) - amount;
  }
  return true;
}

const defaultNodeScript = fileURLToPath(new URL('../../deploy/slurm/posttrain-node.sh', import.meta.url));

export class SlurmPlacementGroups {
  private readonly runtime: Runtime;
  private readonly options: SlurmPlacementOptions;

  constructor(runtime: Runtime, options: SlurmPlacementOptions) {
    this.runtime = runtime;
    this.options = options;
  }

  /**
   * Reserve the group on the running cluster if its own nodes could ever hold it and no Slurm job's nodes are in
   * the cluster; else on a Slurm job of its own. Job nodes are never shared: an agent that Slurm stopped stays in
   * the head's books until its heartbeat times out, and a group placed on its "free" CPUs would fail; and a job's
   * spare CPUs go back to Slurm with the job.
   */
  async create(options: PlacementGroupOptions): Promise<SlurmPlacementGroup> {
    const strategy = options.strategy ?? 'PACK';
    const nodes = (await this.runtime.nodes()).filter((node) => node.alive);
    const jobNodes = nodes.filter((node) => Object.keys(node.total).some((resource) => resource.startsWith(GROUP_LABEL_PREFIX)));
    if (jobNodes.length === 0 && fitsNodes(options.bundles, strategy, nodes.map((node) => node.total))) {
      const placementGroup = await this.runtime.createPlacementGroup(options);
      return { placementGroup, jobId: undefined, remove: () => placementGroup.remove() };
    }
    const request = slurmJobRequest(options.bundles, strategy);
    const label = `${GROUP_LABEL_PREFIX}${randomBytes(4).toString('hex')}`;
    const jobId = await this.submit(request.args, { ...request.offeredLabels, [label]: options.bundles.length });
    try {
      await this.waitForAgents(jobId, label, request.nodes);
      const placementGroup = await this.runtime.createPlacementGroup({ ...options, bundles: options.bundles.map((bundle) => ({ ...bundle, [label]: 1 })) });
      return {
        placementGroup,
        jobId,
        remove: async () => {
          await Promise.all([placementGroup.remove(), this.cancel(jobId)]);
        },
      };
    } catch (error) {
      await this.cancel(jobId);
      throw error;
    }
  }

  /** `scancel` the job: Slurm SIGTERMs its agents, which stop once their actors are gone (removed with the group); the nodes are free for other jobs. */
  async cancel(jobId: string): Promise<void> {
    await this.slurm('scancel', [jobId]);
  }

  private async submit(shape: string[], offered: Record<string, number>): Promise<string> {
    const { partition, account, qos, timeLimit, extraArgs = [], outputDirectory, nodeScript = defaultNodeScript, headAddress } = this.options;
    const args = [
      '--parsable',
      '--job-name=posttrain-placement',
      ...(partition ? [`--partition=${partition}`] : []),
      ...(account ? [`--account=${account}`] : []),
      ...(qos ? [`--qos=${qos}`] : []),
      ...(timeLimit ? [`--time=${timeLimit}`] : []),
      ...(outputDirectory ? [`--output=${outputDirectory}/posttrain-placement-%j.out`] : []),
      ...shape,
      ...extraArgs,
      '--export=ALL',
      `--wrap=exec srun --nodes="$SLURM_JOB_NUM_NODES" --ntasks-per-node=1 ${shellQuote(nodeScript)} ${shellQuote(headAddress)}`,
    ];
    // Each node's agent is named <slurm node>-job<id> (a node may already run an agent of this cluster) and
    // offers the group's label, so that the group lands on this job's nodes and nowhere else.
    const env = { POSTTRAIN_NODE_PER_JOB: '1', POSTTRAIN_NODE_RESOURCES: JSON.stringify(offered) };
    const output = await this.slurm('sbatch', args, env);
    const jobId = output.trim().split(';')[0] ?? '';
    if (!/^\d+$/.test(jobId)) throw new PosttrainError('SLURM_SUBMIT_FAILED', `sbatch did not answer with a job id: '${output.trim()}'`, { path: 'runtime.slurm' });
    return jobId;
  }

  /** Until `expected` agents offering `label` are alive (for PACK/SPREAD: as many as the job has nodes). */
  private async waitForAgents(jobId: string, label: string, expected: number | undefined): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 600_000;
    const deadline = Date.now() + timeoutMs;
    let nodes = expected;
    let state = 'PENDING';
    let reason = '';
    for (;;) {
      const queued = (await this.slurm('squeue', ['--noheader', '--jobs', jobId, '--format=%T %D %r']).catch(() => '')).trim().split(/\s+/);
      state = queued[0] || 'GONE';
      reason = queued[2] ?? '';
      if (state === 'RUNNING' && nodes === undefined) nodes = Number(queued[1]);
      if (!['PENDING', 'CONFIGURING', 'RUNNING'].includes(state)) {
        throw new PosttrainError('SLURM_JOB_ENDED', `Slurm job ${jobId} for a placement group ended (${state}) before its node agents joined; see its output`, { path: 'runtime.slurm' });
      }
      if (nodes !== undefined && state === 'RUNNING') {
        const joined = (await this.runtime.nodes()).filter((node) => node.alive && (node.total[label] ?? 0) > 0).length;
        if (joined >= nodes) return;
      }
      if (Date.now() > deadline) {
        throw new PosttrainError(
          'SLURM_JOB_TIMEOUT',
          `Slurm job ${jobId} for a placement group is still ${state}${reason && reason !== '(None)' ? ` (${reason})` : ''} after ${timeoutMs} ms; it was cancelled. Raise runtime.slurm.startTimeoutMs or ask for a partition with free nodes`,
          { path: 'runtime.slurm.startTimeoutMs' },
        );
      }
      await sleep(200);
    }
  }

  private async slurm(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const prefix = this.options.commandPrefix ?? [];
    const [file, ...rest] = [...prefix, command, ...args] as [string, ...string[]];
    try {
      return (await execFileAsync(file, rest, { env: { ...(this.options.env ?? process.env), ...env }, encoding: 'utf8' })).stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new PosttrainError('SLURM_COMMAND_FAILED', `${command} ${args.join(' ')} failed: ${stderr || (error as Error).message}`, { path: 'runtime.slurm' });
    }
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
