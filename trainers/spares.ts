/**
 * Replacing dead role hosts, from a warm spare when there is one.
 *
 * A warm spare is an idle RoleHost in the placement group of the ranks it may replace, holding every role of its
 * colocation group built as rank 0: its process is up, its tensor engine initialised, its models built from their
 * files. All it lacks is the training state, which it takes over at fail-over. `runtime.roles.<role>.spares: K`
 * keeps K spares per colocation group (the largest K among its roles), each in a bundle of its own.
 *
 * Fail-over protocol (DurableRun drives it when a step fails):
 *  1. Find the dead: every rank host is asked for `health` (a concurrency group of its own, answered even while
 *     the host is busy); an ActorDiedError marks it dead. If every host is alive, the failure was not a death
 *     and is rethrown.
 *  2. For each dead rank, take a live spare of its group, or (the cold path) launch a new host in the dead one's
 *     bundle and build its roles from their files: the slow part a spare saves. Fit it to the rank (a rollout
 *     worker is rebuilt with the rank's seed; roles the rank does not hold are dropped) and swap it into the host
 *     group and into every RoleGroup of the colocation group.
 *  3. Re-form the collectives of the group's data-parallel roles: rank 0 creates a NEW unique id and every member,
 *     survivors and newcomer, joins with its rank (a survivor's old communicator, aborted by the death, is
 *     destroyed in joinCollective). Communicators are never resized, only re-formed.
 *  4. Once the retried step has completed (`refill`, called by DurableRun after every step), start a new spare in
 *     the background, in the bundle the dead host freed. Not at once: booting a spare (process, engine, models)
 *     competes for the node's cores with the retried step, which is what the run is waiting for.
 * The caller then restores every stateful role, survivors included (they may have taken part of the failed step),
 * from the newest recovery point and continues after it (durable-run.ts).
 */
import { ActorDiedError, type ActorHandle, type Logger, type Runtime } from '../runtime/index.ts';
import { formCollective, ROLE_HOST_MODULE, type RoleSet } from './role-groups.ts';
import type { RoleHost } from './roles/role-host.ts';

/** A rank whose host process died. */
export interface DeadHost {
  /** Host (colocation) group index in the RoleSet. */
  group: number;
  rank: number;
  /** The roles it held. */
  roles: string[];
  /** Why it died (`killed by SIGKILL`, `out of memory`...). */
  cause: string;
}

/** How a dead rank was replaced. */
export interface Replacement extends DeadHost {
  /** `spare`: a warm spare took over; `relaunch`: a new host was started and its roles built from their files. */
  via: 'spare' | 'relaunch';
}

/** How long a live host may take to answer `health` before it is taken for alive-but-stuck, not dead. */
const HEALTH_TIMEOUT_MS = 10_000;

/**
 * @example
 * const replacer = new HostReplacer(runtime, roles, logger);
 * await replacer.startSpares();
 * // after a failed step:
 * const dead = await replacer.findDead();
 * const replaced = await replacer.replace(dead);   // [{ group: 0, rank: 0, roles: ['policy', ...], via: 'spare' }]
 */
export class HostReplacer {
  private readonly runtime: Runtime;
  private readonly roles: RoleSet;
  private readonly logger: Logger;
  /** Ready spares per host group. */
  private readonly spares: ActorHandle<RoleHost>[][];
  /** Placement-group bundle of each host, by actor id. */
  private readonly bundles = new Map<string, number>();
  private readonly starting = new Set<Promise<void>>();
  /** Bundles freed by spares that took over, to get a new spare once the run has completed a step again. */
  private readonly refills: { group: number; bundle: number }[] = [];
  private closed = false;

  constructor(runtime: Runtime, roles: RoleSet, logger: Logger) {
    this.runtime = runtime;
    this.roles = roles;
    this.logger = logger.child({ component: 'spares' });
    this.spares = roles.layouts.map(() => []);
    roles.hostGroups.forEach((hosts) => hosts.actors.forEach((host, rank) => this.bundles.set(host.actorId, rank)));
  }

  /** Whether any group keeps warm spares. */
  get enabled(): boolean {
    return this.roles.layouts.some((layout) => layout.spares > 0);
  }

  /** Ready spares per host group. */
  get ready(): number[] {
    return this.spares.map((spares) => spares.length);
  }

  /** Starts every group's warm spares (in the bundles after its ranks'); resolves when all are ready. */
  async startSpares(): Promise<void> {
    await Promise.all(
      this.roles.layouts.flatMap((layout, group) => Array.from({ length: layout.spares }, (_, index) => this.startSpare(group, layout.ranks + index))),
    );
  }

  /** From now on a spare that fails to start is expected (the run is ending and its placement groups go away). */
  close(): void {
    this.closed = true;
  }

  /** Resolves when spares started in the background are ready (or failed to start). */
  async settled(): Promise<void> {
    while (this.starting.size > 0) await Promise.allSettled([...this.starting]);
  }

  /** Every rank host whose process is dead. */
  async findDead(): Promise<DeadHost[]> {
    const probes = this.roles.hostGroups.flatMap((hosts, group) =>
      hosts.actors.map(async (host, rank): Promise<DeadHost | undefined> => {
        try {
          await host.health({ timeoutMs: HEALTH_TIMEOUT_MS });
          return undefined;
        } catch (error) {
          if (!(error instanceof ActorDiedError)) return undefined;
          return { group, rank, roles: this.rolesOf(group, rank), cause: error.deathCause.reason };
        }
      }),
    );
    return (await Promise.all(probes)).filter((dead) => dead !== undefined);
  }

  /** Replaces every dead rank (protocol steps 2-4 above). */
  async replace(dead: DeadHost[]): Promise<Replacement[]> {
    const replaced: Replacement[] = [];
    const freedBundles: { group: number; bundle: number }[] = [];
    for (const each of dead) {
      const previous = this.roles.hostGroups[each.group]!.rank(each.rank);
      const freed = this.bundles.get(previous.actorId) ?? each.rank;
      let host = await this.takeSpare(each.group);
      const via = host ? 'spare' : 'relaunch';
      if (host) await this.fitToRank(host, each.group, each.rank);
      else host = await this.launchHost(each.group, each.rank, freed);
      this.roles.hostGroups[each.group]!.replace(each.rank, host);
      for (const name of each.roles) this.roles.groups.get(name)!.hosts[each.rank] = host;
      this.bundles.delete(previous.actorId);
      if (via === 'spare') freedBundles.push({ group: each.group, bundle: freed });
      replaced.push({ ...each, via });
      this.logger.warn({ roles: each.roles, rank: each.rank, via, cause: each.cause }, `rank ${each.rank} of ${each.roles.join('+')} replaced by ${via === 'spare' ? 'a warm spare' : 'a new host'}`);
    }
    for (const group of new Set(dead.map((each) => each.group))) await this.reformCollectives(group);
    // A spare that took over leaves its bundle to the next spare (started by `refill`); a relaunched host took the
    // freed bundle itself.
    this.refills.push(...freedBundles);
    return replaced;
  }

  /** After a completed step: starts, in the background, the spares that replace those that took over (step 4). */
  refill(): void {
    for (const { group, bundle } of this.refills.splice(0)) this.startSpareInBackground(group, bundle);
  }

  private rolesOf(group: number, rank: number): string[] {
    return this.roles.layouts[group]!.members.filter((member) => member.size > rank).map((member) => member.name);
  }

  private async takeSpare(group: number): Promise<ActorHandle<RoleHost> | undefined> {
    for (let spare = this.spares[group]!.shift(); spare; spare = this.spares[group]!.shift()) {
      try {
        await spare.health({ timeoutMs: HEALTH_TIMEOUT_MS });
        return spare;
      } catch (error) {
        this.logger.warn({ err: error }, 'a warm spare is dead itself; trying the next one');
        this.bundles.delete(spare.actorId);
      }
    }
    return undefined;
  }

  /** A spare holds every role built as rank 0; rank r > 0 holds only the roles with more than r ranks. */
  private async fitToRank(host: ActorHandle<RoleHost>, group: number, rank: number): Promise<void> {
    if (rank === 0) return;
    for (const member of this.roles.layouts[group]!.members) {
      if (member.size <= rank) await host.call('removeRole', member.name);
      else if (member.kind === 'rollout') {
        await host.call('removeRole', member.name);
        await host.call('addRole', member.name, member.kind, member.init(rank) as never);
      }
    }
  }

  /** A new host in `bundle` holding the roles of `rank`, built from their files (what a spare has done ahead). */
  private async launchHost(group: number, rank: number, bundle: number): Promise<ActorHandle<RoleHost>> {
    const layout = this.roles.layouts[group]!;
    const host = await this.runtime.createActor<typeof RoleHost>({
      module: ROLE_HOST_MODULE,
      exportName: 'RoleHost',
      role: layout.members.map((member) => member.name).join('+'),
      args: [layout.hostOptions],
      placementGroup: this.roles.reservations[group]!.placementGroup,
      bundleIndex: bundle,
      resources: layout.resources,
    });
    this.bundles.set(host.actorId, bundle);
    for (const member of layout.members) {
      if (member.size > rank) await host.call('addRole', member.name, member.kind, member.init(rank) as never);
    }
    return host;
  }

  private async startSpare(group: number, bundle: number): Promise<void> {
    const spare = await this.launchHost(group, 0, bundle);
    this.spares[group]!.push(spare);
    this.logger.info({ group, bundle, spares: this.spares[group]!.length }, 'warm spare ready');
  }

  private startSpareInBackground(group: number, bundle: number): void {
    const starting = this.startSpare(group, bundle)
      .catch((error: unknown) => {
        if (this.closed) return;
        this.logger.warn({ err: error, group, bundle }, 'a replacement warm spare failed to start; the group has one spare fewer');
      })
      .finally(() => this.starting.delete(starting));
    this.starting.add(starting);
  }

  private async reformCollectives(group: number): Promise<void> {
    for (const member of this.roles.layouts[group]!.members) {
      if (member.size <= 1 || member.kind === 'rollout') continue;
      const roleGroup = this.roles.groups.get(member.name)!;
      await formCollective(roleGroup, this.roles.reservations[group]?.placementGroup, roleGroup.hosts.map((host) => this.bundles.get(host.actorId) ?? 0));
    }
  }
}
