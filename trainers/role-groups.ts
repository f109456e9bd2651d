/**
 * From a trainer's role list to running processes: colocation groups -> one placement group each -> RoleHost
 * actors -> role objects on them -> data-parallel collectives among each role's ranks. The driver then talks to
 * `RoleGroup`s, which read like the roles themselves: `policy.callAll('trainPolicy', batchRef, plan, options)`.
 */
import { availableParallelism } from 'node:os';
import { COLLECTIVE_METRICS } from '../runtime/collectives/collective-metrics.ts';
import { ConfigError } from '../runtime/errors.ts';
import { addRemoteMetrics, type ActorGroup, type ActorHandle, type Logger, type PlacementGroup, type Resources, type Runtime } from '../runtime/index.ts';
import { SlurmPlacementGroups } from '../runtime/cluster/slurm-placement.ts';
import type { RuntimeConfig } from './config-sections.ts';
import type { RoleHost, RoleHostOptions, RoleInit, RoleInstance, RoleKind } from './roles/role-host.ts';

/** Async methods of a role object. */
type RoleMethod<T> = { [M in keyof T]: T[M] extends (...args: never[]) => Promise<unknown> ? M : never }[keyof T] & string;
type RoleArgs<T, M extends RoleMethod<T>> = T[M] extends (...args: infer A) => unknown ? A : never;
type RoleResult<T, M extends RoleMethod<T>> = T[M] extends (...args: never[]) => Promise<infer R> ? R : never;

/** One role's ranks, each on some host. */
export class RoleGroup<K extends RoleKind = RoleKind> {
  readonly name: string;
  readonly kind: K;
  /** Host of each rank. */
  readonly hosts: ActorHandle<RoleHost>[];

  constructor(name: string, kind: K, hosts: ActorHandle<RoleHost>[]) {
    this.name = name;
    this.kind = kind;
    this.hosts = hosts;
  }

  get size(): number {
    return this.hosts.length;
  }

  /** Calls `method` on rank `rank`. */
  callRank<M extends RoleMethod<RoleInstance<K>>>(rank: number, method: M, ...args: RoleArgs<RoleInstance<K>, M>): Promise<RoleResult<RoleInstance<K>, M>> {
    const host = this.hosts[rank];
    if (!host) throw new ConfigError([{ path: `${this.name}.rank`, message: `rank ${rank} does not exist; the group has ${this.size} ranks` }]);
    return host.call('invoke', this.name, method, args as unknown[]) as Promise<RoleResult<RoleInstance<K>, M>>;
  }

  /** Calls `method` with the same arguments on every rank. */
  callAll<M extends RoleMethod<RoleInstance<K>>>(method: M, ...args: RoleArgs<RoleInstance<K>, M>): Promise<RoleResult<RoleInstance<K>, M>[]> {
    return Promise.all(this.hosts.map((_, rank) => this.callRank(rank, method, ...args)));
  }

  /** Calls `method` on every rank with that rank's arguments; `argsPerRank.length` must equal the group size. */
  scatter<M extends RoleMethod<RoleInstance<K>>>(method: M, argsPerRank: RoleArgs<RoleInstance<K>, M>[]): Promise<RoleResult<RoleInstance<K>, M>[]> {
    if (argsPerRank.length !== this.size) {
      throw new ConfigError([{ path: `${this.name}.scatter`, message: `got ${argsPerRank.length} argument lists for ${this.size} ranks` }]);
    }
    return Promise.all(argsPerRank.map((args, rank) => this.callRank(rank, method, ...args)));
  }
}

/** What a trainer asks for: a role, its size and how to build each rank. */
export interface RoleRequest<K extends RoleKind = RoleKind> {
  name: string;
  kind: K;
  size: number;
  /** Each rank's reservation (default { CPU: 1 }); colocated roles share the largest. */
  resources?: Resources;
  init: (rank: number) => RoleInit<K>;
}

/** How one colocation group's hosts were launched: enough to launch another (a warm spare or a replacement). */
export interface HostLayout {
  /** The roles every host of the group holds (rank r holds those with `size > r`). */
  members: RoleRequest[];
  resources: Resources;
  hostOptions: RoleHostOptions;
  /** Hosts of the group's ranks; bundles `ranks` and up are for warm spares. */
  ranks: number;
  spares: number;
}

/** The module of the actor class every role runs in. */
export const ROLE_HOST_MODULE = new URL('./roles/role-host.ts', import.meta.url);

/** The launched roles and everything that holds them up. */
export class RoleSet {
  readonly groups = new Map<string, RoleGroup>();
  /**
   * One per host group, in order: its placement group and how it is released (removed, and with `runtime.slurm`
   * its Slurm job cancelled in the same call).
   */
  readonly reservations: { placementGroup: PlacementGroup; release: () => Promise<void> }[] = [];
  readonly hostGroups: ActorGroup<RoleHost>[] = [];
  /** Per host group, how its hosts were launched. */
  readonly layouts: HostLayout[] = [];
  /** Which colocation group each role is in (host group index). */
  readonly hostGroupOf = new Map<string, number>();
  /** Stops serving the hosts' collective timings on the driver's `/metrics`. */
  detachMetrics: () => void = () => {};

  group<K extends RoleKind>(name: string, kind: K): RoleGroup<K> {
    const group = this.groups.get(name);
    if (!group || group.kind !== kind) throw new ConfigError([{ path: `roles.${name}`, message: `no ${kind} role named ${name} was launched` }]);
    return group as RoleGroup<K>;
  }

  /** Holds `placementGroup` until `destroy()`, which calls `release` (default: remove the group). */
  hold(placementGroup: PlacementGroup, release: () => Promise<void> = () => placementGroup.remove()): void {
    this.reservations.push({ placementGroup, release });
  }

  /** Kills every host and frees every reservation (a sweep's pruned trial too, through its trainer's abort). */
  async destroy(): Promise<void> {
    this.detachMetrics();
    await Promise.allSettled(this.reservations.map(({ release }) => release()));
  }
}

/**
 * Launches the roles: one placement group and one host group per colocation group, roles added to hosts in rank
 * order, and a collective group formed among the ranks of every trainable role with more than one rank.
 *
 * @example
 * const roles = await launchRoles(runtime, [{ name: 'policy', kind: 'policy', size: 2, init: (rank) => ({ ... }) }], config.runtime, logger);
 * await roles.group('policy', 'policy').callAll('trainSft', indices);
 */
export async function launchRoles(runtime: Runtime, requests: RoleRequest[], config: RuntimeConfig, logger: Logger): Promise<RoleSet> {
  const colocation = colocationGroups(requests.map((request) => request.name), config.colocate);
  const totalHosts = colocation.reduce((sum, names) => sum + Math.max(...names.map((name) => requestOf(requests, name).size)), 0);
  const threads = config.threads ?? Math.max(1, Math.floor(availableParallelism() / totalHosts));
  const roles = new RoleSet();
  const slurm = slurmPlacementFor(runtime, config);
  try {
    for (const [index, names] of colocation.entries()) {
      const members = names.map((name) => requestOf(requests, name));
      const hostCount = Math.max(...members.map((member) => member.size));
      const resources = mergeResources(members.map((member) => member.resources ?? { CPU: 1 }));
      // Warm spares (trainers/spares.ts) get bundles of their own after the ranks'.
      const spares = Math.max(...members.map((member) => config.roles[member.name]?.spares ?? 0));
      const groupOptions = { bundles: Array.from({ length: hostCount + spares }, () => resources), strategy: 'PACK' as const };
      // With runtime.slurm a group the cluster cannot hold is a Slurm job of its own, cancelled when it is removed.
      const reserved = slurm ? await slurm.create(groupOptions) : undefined;
      const placementGroup = reserved?.placementGroup ?? (await runtime.createPlacementGroup(groupOptions));
      roles.hold(placementGroup, reserved?.remove);
      if (reserved?.jobId !== undefined) logger.info({ roles: names, slurmJob: reserved.jobId }, 'the cluster could not hold these roles: Slurm job started for them');
      await placementGroup.ready({ timeoutMs: 120_000 });
      const hostOptions: RoleHostOptions = { backend: config.backend, threads };
      const hosts = await runtime.createActorGroup<typeof RoleHost>({
        module: ROLE_HOST_MODULE,
        exportName: 'RoleHost',
        role: names.join('+'),
        size: hostCount,
        args: [hostOptions],
        placementGroup,
        bundleIndex: (rank) => rank,
        resources,
      });
      roles.hostGroups.push(hosts);
      roles.layouts.push({ members, resources, hostOptions, ranks: hostCount, spares });
      for (const member of members) {
        const memberHosts = Array.from({ length: member.size }, (_, rank) => hosts.rank(rank));
        await Promise.all(memberHosts.map((host, rank) => host.call('addRole', member.name, member.kind, member.init(rank) as never)));
        roles.groups.set(member.name, new RoleGroup(member.name, member.kind, memberHosts));
        roles.hostGroupOf.set(member.name, index);
        if (member.size > 1 && member.kind !== 'rollout') await formCollective(roles.groups.get(member.name)!, placementGroup);
      }
      logger.info({ roles: names, hosts: hostCount, threads, resources }, 'roles launched');
    }
    roles.detachMetrics = serveCollectiveMetrics(runtime, roles.hostGroups);
  } catch (error) {
    await roles.destroy();
    throw error;
  }
  return roles;
}

/**
 * The hosts' collective timings on the driver's `/metrics`, one series per host, labelled with the host group's
 * roles and the rank (stable when a warm spare takes a rank over). Only the embedded driver has a registry.
 */
function serveCollectiveMetrics(runtime: Runtime, hostGroups: ActorGroup<RoleHost>[]): () => void {
  let registry;
  try {
    registry = runtime.metrics;
  } catch {
    return () => {};
  }
  const sources = hostGroups.flatMap((group) =>
    Array.from({ length: group.size }, (_, rank) => ({
      labels: { roles: group.role, rank: String(rank) },
      fetch: () => group.rank(rank).withOptions({ concurrencyGroup: 'health' }).call('metricsSnapshot'),
    })),
  );
  return addRemoteMetrics(registry, COLLECTIVE_METRICS, sources);
}

/**
 * Forms (or re-forms) the data-parallel collective of a role: rank 0 makes the id, every rank joins at once.
 * `bundles` are the placement-group bundles the ranks run in (default: bundle i for rank i).
 */
export async function formCollective(group: RoleGroup, placementGroup?: PlacementGroup, bundles?: number[]): Promise<void> {
  const nodes = new Set((bundles ?? Array.from({ length: group.size }, (_, rank) => rank)).map((bundle) => placementGroup?.bundleNodes[bundle]));
  const backend = nodes.size <= 1 ? 'shm' : 'tcp';
  const model = group as RoleGroup<'policy'>;
  const uniqueId = await model.callRank(0, 'createCollectiveId', backend);
  await Promise.all(Array.from({ length: group.size }, (_, rank) => model.callRank(rank, 'joinCollective', uniqueId, rank, group.size)));
}

/** The colocation groups (lists of role names) the config describes, for the roles this trainer has. */
export function colocationGroups(names: string[], colocate: RuntimeConfig['colocate']): string[][] {
  if (colocate === 'all') return [names];
  if (colocate === 'none') return names.map((name) => [name]);
  const seen = new Set<string>();
  const issues: { path: string; message: string }[] = [];
  const groups: string[][] = [];
  colocate.forEach((group, index) => {
    const present = group.filter((name) => {
      if (seen.has(name)) issues.push({ path: `runtime.colocate.${index}`, message: `role ${name} is listed twice` });
      seen.add(name);
      return names.includes(name);
    });
    if (present.length > 0) groups.push(present);
  });
  for (const name of colocate.flat()) {
    if (!names.includes(name) && !['policy', 'reference', 'reward', 'value', 'rollout'].includes(name)) {
      issues.push({ path: 'runtime.colocate', message: `unknown role ${name}; this trainer's roles are ${names.join(', ')}` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  for (const name of names) if (!seen.has(name)) groups.push([name]);
  return groups;
}

function requestOf(requests: RoleRequest[], name: string): RoleRequest {
  return requests.find((request) => request.name === name)!;
}

/** The largest amount of each resource (colocated roles share one process, hence one reservation). */
function mergeResources(all: Resources[]): Resources {
  const merged: Resources = {};
  for (const resources of all) for (const [key, amount] of Object.entries(resources)) merged[key] = Math.max(merged[key] ?? 0, amount);
  return merged;
}

/** `runtime.slurm`'s placement source, or undefined without it. Slurm's nodes join the cluster at `address`. */
function slurmPlacementFor(runtime: Runtime, config: RuntimeConfig): SlurmPlacementGroups | undefined {
  if (!config.slurm) return undefined;
  if (!config.address) {
    throw new ConfigError([{ path: 'runtime.slurm', message: 'needs runtime.address: the nodes of a Slurm job join a cluster head, which the embedded runtime does not have' }]);
  }
  const { partition, account, qos, timeLimit, extraArgs, startTimeoutMs, outputDirectory } = config.slurm;
  return new SlurmPlacementGroups(runtime, {
    headAddress: config.address,
    extraArgs,
    startTimeoutMs,
    ...(partition === undefined ? {} : { partition }),
    ...(account === undefined ? {} : { account }),
    ...(qos === undefined ? {} : { qos }),
    ...(timeLimit === undefined ? {} : { timeLimit }),
    ...(outputDirectory === undefined ? {} : { outputDirectory }),
  });
}
