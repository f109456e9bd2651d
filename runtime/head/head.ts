import type { Logger } from 'pino';
import { ConfigError } from '../errors.ts';
import {
  ActorCreationError,
  NamingError,
  PlacementGroupRemovedError,
  RuntimeClosedError,
  formatResources,
  type ActorDeathCause,
} from '../runtime-errors.ts';
import { ResourcePool, type Allocation, type Resources } from '../resources.ts';
import type { ModuleAllowList } from '../module-allow-list.ts';
import type { ObjectDirectory, ObjectStatus, ReferenceOperation } from '../object-store/object-directory.ts';
import type { ObjectLocation } from '../object-store/object-ref.ts';
import type {
  ActorCreateSpec,
  ActorInfo,
  ActorResolution,
  ActorSummary,
  ControlPlane,
  NodeInfo,
  PlacementGroupInfo,
  PlacementGroupSpec,
} from '../control/control-plane.ts';
import type { ActorRecord, ControlStore } from '../control/control-store.ts';
import { PlacementGroupManager } from './placement-group-manager.ts';
import type { PlacementNode } from './placement.ts';
import type { WorkerProcess } from './worker-process.ts';
import { WorkerPool, type WorkerAssignment } from './worker-pool.ts';
import { checkActorFeasible } from './feasibility.ts';

export interface HeadOptions {
  nodes: { nodeId: string; resources: Resources; gpuIds?: string[] }[];
  store: ControlStore;
  objects: ObjectDirectory;
  allowList: ModuleAllowList;
  logger: Logger;
  socketDirectory: string;
  shmDirectory: string;
  spillDirectory: string;
  reaperIntervalMs: number;
  workerExecArgv: string[];
  /** Booted workers kept waiting for actors (0 turns prestarting off). */
  prestartWorkers: number;
}

const MAX_DEAD_REMEMBERED = 1_000;

/** An actor waiting for resources is reported after this long, and again every minute, with what is missing. */
const PENDING_WARNING_MS = 10_000;

interface LiveActor {
  record: ActorRecord;
  /** When it started waiting for resources, and when that was last reported. */
  pendingSinceMs?: number;
  pendingWarnedMs?: number;
  pool?: ResourcePool;
  allocation?: Allocation;
  process?: WorkerProcess;
  /** Set by kill() or placement-group removal: the actor is not restarted and dies with this cause. */
  killCause?: ActorDeathCause;
  constructorError?: string;
  creation: { resolve: (info: ActorInfo) => void; reject: (error: Error) => void; settled: boolean };
  waiters: { after: number; resolve: (resolution: ActorResolution) => void }[];
}

/**
 * The embedded head: nodes and their resources, the actor table and scheduler, placement groups, named things,
 * the object directory and the detached-actor reaper. It runs inside the driver's process (so placement-group
 * bookkeeping and the driver's own store operations are function calls), and serves workers over the local
 * channel through `HeadServer`. It implements `ControlPlane`, the same interface a remote head will implement.
 */
export class Head implements ControlPlane {
  /** Where workers reach the head; set once its server listens. */
  set headAddress(address: string) {
    this.pool.headAddress = address;
  }

  private readonly nodeList: PlacementNode[];
  private readonly actors = new Map<string, LiveActor>();
  /** Worker process id -> the actor incarnation it runs. */
  private readonly workers = new Map<string, { actorId: string; incarnation: number }>();
  private readonly pendingActors: string[] = [];
  private readonly dead: string[] = [];
  private readonly groups: PlacementGroupManager;
  private readonly reaper: NodeJS.Timeout;
  private readonly pool: WorkerPool;
  private nextActor = 1;
  private closing = false;

  constructor(private readonly options: HeadOptions) {
    this.nodeList = options.nodes.map((node) => {
      options.store.putNode({ nodeId: node.nodeId, resources: node.resources, gpuIds: node.gpuIds ?? [], alive: true });
      return { nodeId: node.nodeId, pool: new ResourcePool(node.resources, node.gpuIds) };
    });
    this.groups = new PlacementGroupManager(this.nodeList, options.store, () => this.schedulePendingActors());
    this.pool = new WorkerPool(options, (clientId, cause) => this.processExited(clientId, cause));
    this.reaper = setInterval(() => this.reapDetached(), options.reaperIntervalMs);
    this.reaper.unref();
  }

  // ---- objects -------------------------------------------------------------------------------------------------

  reserve(owner: string, ownerName: string, bytes: number): Promise<{ id: string; location: ObjectLocation }> {
    return Promise.resolve(this.options.objects.reserve(owner, ownerName, bytes));
  }

  relocate(id: string, location: ObjectLocation): void {
    this.options.objects.relocate(id, location);
  }

  references(client: string, operations: ReferenceOperation[]): void {
    this.options.objects.apply(client, operations);
  }

  locate(id: string): Promise<ObjectStatus> {
    return Promise.resolve(this.options.objects.locate(id));
  }

  async objectStoreUsage() {
    return this.options.objects.usage();
  }

  // ---- actors --------------------------------------------------------------------------------------------------

  createActor(creator: string, spec: ActorCreateSpec): Promise<ActorInfo> {
    if (this.closing) return Promise.reject(new RuntimeClosedError('createActor'));
    const module = this.options.allowList.check(spec.module);
    const actorId = `a${this.nextActor++}`;
    const displayName = spec.name ?? `${spec.role}-${actorId}`;
    checkActorFeasible(this.nodeList, this.groups, spec, displayName);
    if (spec.name !== undefined) {
      if (spec.namespace === undefined) {
        throw new NamingError('NAMESPACE_REQUIRED', `actor '${spec.name}' has a name but no namespace; pass namespace (there is no default namespace)`, spec.name);
      }
      if (!this.options.store.bindName('actor', spec.namespace, spec.name, actorId)) {
        throw new NamingError('NAME_TAKEN', `an actor named '${spec.name}' already exists in namespace '${spec.namespace}'`, spec.name);
      }
    }
    const record: ActorRecord = {
      actorId,
      displayName,
      spec: { ...spec, module },
      owner: creator,
      state: 'pending',
      incarnation: 0,
      restarts: 0,
      gpuIds: [],
      deaths: {},
      lastActivityMs: Date.now(),
    };
    this.options.store.putActor(record);
    return new Promise<ActorInfo>((resolve, reject) => {
      const live: LiveActor = { record, creation: { resolve, reject, settled: false }, waiters: [] };
      this.actors.set(actorId, live);
      if (!this.trySchedule(live)) {
        live.pendingSinceMs = Date.now();
        this.pendingActors.push(actorId);
      }
    });
  }

  async getActor(name: string, namespace: string): Promise<ActorInfo | undefined> {
    const actorId = this.options.store.lookupName('actor', namespace, name);
    const live = actorId === undefined ? undefined : this.actors.get(actorId);
    if (!live) return undefined;
    live.record.lastActivityMs = Date.now();
    if (live.record.state === 'alive') return this.info(live);
    const resolution = await this.resolveActor(live.record.actorId, 0);
    return resolution.state === 'alive' ? resolution.info : undefined;
  }

  resolveActor(actorId: string, afterIncarnation: number): Promise<ActorResolution> {
    const live = this.actors.get(actorId);
    if (!live) {
      return Promise.resolve({ state: 'dead', displayName: actorId, role: 'unknown', cause: { kind: 'exit', reason: 'no such actor (it ended long ago or never existed)' }, restartsExhausted: false, maxRestarts: 0 });
    }
    const now = this.resolution(live, afterIncarnation);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => live.waiters.push({ after: afterIncarnation, resolve }));
  }

  /** Resolves once the process is gone and its resources are free (or, with `restart`, once it is back). */
  async killActor(actorId: string, options: { restart: boolean }): Promise<void> {
    const live = this.actors.get(actorId);
    if (!live || live.record.state === 'dead') return;
    const incarnation = live.record.incarnation;
    this.kill(live, options.restart ? undefined : { kind: 'killed', reason: 'killed by kill()' });
    await this.resolveActor(actorId, incarnation);
  }

  touchActor(actorId: string): void {
    const live = this.actors.get(actorId);
    if (live) live.record.lastActivityMs = Date.now();
  }

  // ---- placement groups ----------------------------------------------------------------------------------------

  async createPlacementGroup(creator: string, spec: PlacementGroupSpec): Promise<PlacementGroupInfo> {
    if (this.closing) throw new RuntimeClosedError('createPlacementGroup');
    return this.groups.create(creator, spec);
  }

  waitPlacementGroup(groupId: string, timeoutMs: number | undefined): Promise<PlacementGroupInfo> {
    return this.groups.wait(groupId, timeoutMs);
  }

  async removePlacementGroup(groupId: string): Promise<void> {
    const group = this.groups.get(groupId);
    if (!group) return;
    const displayName = group.record.displayName;
    this.groups.remove(groupId);
    for (const live of this.actors.values()) {
      if (live.record.spec.placementGroupId !== groupId || live.record.state === 'dead') continue;
      this.kill(live, { kind: 'killed', reason: `its placement group '${displayName}' was removed` }, new PlacementGroupRemovedError(displayName));
    }
    this.schedulePending();
  }

  async nodes(): Promise<NodeInfo[]> {
    return this.nodeList.map((node) => ({
      nodeId: node.nodeId,
      total: node.pool.totalResources(),
      free: node.pool.freeResources(),
      gpuIds: [...node.pool.gpuIds],
      alive: true,
    }));
  }

  async listActors(): Promise<ActorSummary[]> {
    const rows: ActorSummary[] = [];
    for (const { record } of this.actors.values()) {
      if (record.state === 'dead') continue;
      rows.push({
        actorId: record.actorId,
        displayName: record.displayName,
        role: record.spec.role,
        state: record.state,
        ...(record.nodeId === undefined ? {} : { nodeId: record.nodeId }),
        ...(record.spec.placementGroupId === undefined ? {} : { placementGroupId: record.spec.placementGroupId }),
        resources: record.spec.resources,
      });
    }
    return rows;
  }

  async listPlacementGroups(): Promise<PlacementGroupInfo[]> {
    return this.groups.list();
  }

  // ---- workers (called by HeadServer) --------------------------------------------------------------------------

  /** What a worker is to run; a prestarted worker waits here until an actor is assigned to it. */
  workerSpec(clientId: string): Promise<WorkerAssignment> {
    return this.pool.waitForAssignment(clientId) ?? Promise.resolve(this.assignment(this.liveForWorker(clientId)));
  }

  private assignment(live: LiveActor): WorkerAssignment {
    const record = live.record;
    return {
      spec: record.spec,
      actorId: record.actorId,
      displayName: record.displayName,
      incarnation: record.incarnation,
      nodeId: record.nodeId ?? '',
      gpuIds: record.gpuIds,
      ...(record.spec.namespace === undefined ? {} : { namespace: record.spec.namespace }),
    };
  }

  workerReady(clientId: string, address: string): void {
    const live = this.liveForWorker(clientId);
    if (live.record.clientId !== clientId || live.record.state === 'dead') return;
    live.record.state = 'alive';
    live.record.address = address;
    live.record.lastActivityMs = Date.now();
    this.options.store.putActor(live.record);
    const info = this.info(live);
    if (!live.creation.settled) {
      live.creation.settled = true;
      live.creation.resolve(info);
    }
    this.wake(live);
  }

  workerFailed(clientId: string, reason: string): void {
    const live = this.liveForWorker(clientId);
    live.constructorError = reason;
    live.process?.kill('SIGKILL');
  }

  /** Stop every worker and reject whatever waits. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.reaper);
    this.groups.closeAll();
    const exits: Promise<void>[] = [];
    exits.push(this.pool.close());
    for (const live of this.actors.values()) {
      if (!live.creation.settled) {
        live.creation.settled = true;
        live.creation.reject(new RuntimeClosedError(`creating actor '${live.record.displayName}'`));
      }
      const child = live.process?.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        exits.push(new Promise((resolve) => child.once('exit', () => resolve())));
        live.killCause ??= { kind: 'shutdown', reason: 'the runtime shut down' };
        child.kill('SIGKILL');
      }
    }
    await Promise.all(exits);
  }

  /** Boot the prestarted workers (after the head's server listens). */
  refillPool(): void {
    this.pool.refill();
  }

  /** Actors per state, for metrics. */
  actorCounts(): Record<string, number> {
    const counts: Record<string, number> = { pending: 0, starting: 0, alive: 0, restarting: 0, dead: 0 };
    for (const live of this.actors.values()) counts[live.record.state] = (counts[live.record.state] ?? 0) + 1;
    return counts;
  }

  get pendingPlacementGroups(): number {
    return this.groups.pendingCount;
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private trySchedule(live: LiveActor): boolean {
    const spec = live.record.spec;
    let pool: ResourcePool | undefined;
    let nodeId: string | undefined;
    if (spec.placementGroupId !== undefined) {
      const group = this.groups.get(spec.placementGroupId);
      if (!group) {
        this.finalize(live, { kind: 'killed', reason: 'its placement group was removed before it started' }, new PlacementGroupRemovedError(spec.placementGroupId));
        return true;
      }
      if (group.record.state !== 'created') return false;
      const candidates = spec.bundleIndex === undefined ? group.bundlePools.map((_, index) => index) : [spec.bundleIndex];
      const index = candidates.find((candidate) => (group.bundlePools[candidate] as ResourcePool).fits(spec.resources));
      if (index === undefined) return false;
      pool = group.bundlePools[index];
      nodeId = group.record.bundleNodes[index];
    } else {
      const node = this.leastLoaded(spec.resources);
      if (!node) return false;
      pool = node.pool;
      nodeId = node.nodeId;
    }
    const allocation = pool?.allocate(spec.resources);
    if (!pool || !allocation || nodeId === undefined) return false;
    live.pool = pool;
    live.allocation = allocation;
    live.record.nodeId = nodeId;
    live.record.gpuIds = [...allocation.gpus.keys()].map((index) => pool.gpuIds[index] as string);
    this.startWorker(live);
    return true;
  }

  /** The fitting node with the most free CPU (ties: node order): spreads actors over logical nodes by default. */
  private leastLoaded(resources: Resources): PlacementNode | undefined {
    let best: PlacementNode | undefined;
    for (const node of this.nodeList) {
      if (!node.pool.fits(resources)) continue;
      if (!best || (node.pool.free.get('CPU') ?? 0) > (best.pool.free.get('CPU') ?? 0)) best = node;
    }
    return best;
  }

  /** Give the actor a process (a prestarted one when it needs no GPU, environment or flags of its own). */
  private startWorker(live: LiveActor): void {
    const record = live.record;
    record.incarnation++;
    if (record.state !== 'restarting') record.state = 'starting';
    const incarnation = record.incarnation;
    const logger = this.options.logger.child({ actor: record.displayName, role: record.spec.role, node: record.nodeId });
    const plain = record.gpuIds.length === 0 && Object.keys(record.spec.env).length === 0 && record.spec.execArgv.length === 0;
    const started = this.pool.start(
      plain,
      { env: record.spec.env, execArgv: record.spec.execArgv, gpuIds: record.gpuIds, logger, displayName: record.displayName },
      () => this.assignment(live),
    );
    this.workers.set(started.clientId, { actorId: record.actorId, incarnation });
    record.clientId = started.clientId;
    live.process = started.process;
    record.pid = started.process.pid;
    this.options.store.putActor(record);
  }

  private processExited(clientId: string, cause: ActorDeathCause): void {
    const assigned = this.workers.get(clientId);
    const live = assigned === undefined ? undefined : this.actors.get(assigned.actorId);
    if (assigned && live) this.workerExited(live, clientId, assigned.incarnation, cause);
  }

  private workerExited(live: LiveActor, clientId: string, incarnation: number, exitCause: ActorDeathCause): void {
    const record = live.record;
    this.workers.delete(clientId);
    const cause: ActorDeathCause = live.constructorError !== undefined
      ? { kind: 'constructor-failed', reason: `its constructor failed: ${live.constructorError}` }
      : live.killCause
        ? { ...live.killCause, exitCode: exitCause.exitCode ?? null, signal: exitCause.signal ?? null }
        : exitCause;
    record.deaths[incarnation] = cause;
    this.options.objects.processDied(clientId, `${record.displayName} ${cause.reason}`);
    const unexpected = cause.kind === 'exit' || cause.kind === 'signal' || cause.kind === 'oom';
    this.options.logger[unexpected ? 'warn' : 'info']({ actor: record.displayName, role: record.spec.role, node: record.nodeId, incarnation, cause: cause.reason }, `actor ${record.displayName} ended: ${cause.reason}`);
    for (const owned of this.actors.values()) {
      if (owned.record.owner === clientId && !owned.record.spec.detached && owned.record.state !== 'dead') {
        this.kill(owned, { kind: 'owner-died', reason: `its owner '${record.displayName}' died` });
      }
    }
    for (const groupId of this.groups.ownedBy(clientId)) void this.removePlacementGroup(groupId);
    const canRestart = !this.closing && live.killCause === undefined && live.constructorError === undefined && live.creation.settled;
    if (canRestart && record.restarts < record.spec.maxRestarts) {
      record.restarts++;
      record.state = 'restarting';
      this.options.logger.info({ actor: record.displayName, role: record.spec.role, restart: record.restarts }, `restarting actor ${record.displayName} (${record.restarts} of ${record.spec.maxRestarts})`);
      this.startWorker(live);
      this.wake(live);
      return;
    }
    const creationError = !live.creation.settled ? new ActorCreationError(record.displayName, cause.reason) : undefined;
    this.finalize(live, cause, creationError);
  }

  /** Mark dead for good: free resources and the name, reject creation and wake waiters. */
  private finalize(live: LiveActor, cause: ActorDeathCause, creationError?: Error): void {
    const record = live.record;
    if (record.state === 'dead') return;
    record.state = 'dead';
    record.finalCause = cause;
    if (live.allocation && live.pool) live.pool.release(live.allocation);
    live.allocation = undefined;
    const queued = this.pendingActors.indexOf(record.actorId);
    if (queued >= 0) this.pendingActors.splice(queued, 1);
    if (record.spec.name !== undefined && record.spec.namespace !== undefined) {
      if (this.options.store.lookupName('actor', record.spec.namespace, record.spec.name) === record.actorId) {
        this.options.store.unbindName('actor', record.spec.namespace, record.spec.name);
      }
    }
    this.options.store.putActor(record);
    if (!live.creation.settled) {
      live.creation.settled = true;
      live.creation.reject(creationError ?? new ActorCreationError(record.displayName, cause.reason));
    }
    this.wake(live);
    this.forgetOldDead(record.actorId);
    this.schedulePending();
  }

  /**
   * Dead actors are remembered so that late callers learn why they died; the oldest are forgotten beyond a bound
   * so that a long sweep creating thousands of actors does not grow the driver.
   */
  private forgetOldDead(actorId: string): void {
    this.dead.push(actorId);
    while (this.dead.length > MAX_DEAD_REMEMBERED) {
      const oldest = this.dead.shift() as string;
      this.actors.delete(oldest);
      this.options.store.deleteActor(oldest);
    }
  }

  private kill(live: LiveActor, cause: ActorDeathCause | undefined, creationError?: Error): void {
    if (cause !== undefined) live.killCause = cause;
    const child = live.process?.child;
    const running = child !== undefined && child.exitCode === null && child.signalCode === null;
    if (running) live.process?.kill('SIGKILL');
    else if (cause !== undefined) this.finalize(live, cause, creationError);
  }

  private resolution(live: LiveActor, after: number): ActorResolution | undefined {
    const record = live.record;
    const previousDeath = record.deaths[after];
    const extra = previousDeath === undefined ? {} : { previousDeath };
    if (record.state === 'dead') {
      const cause = record.finalCause ?? { kind: 'exit', reason: 'unknown' };
      const crashed = cause.kind === 'exit' || cause.kind === 'signal' || cause.kind === 'oom';
      const restartsExhausted = crashed && record.spec.maxRestarts > 0 && record.restarts >= record.spec.maxRestarts;
      return { state: 'dead', displayName: record.displayName, role: record.spec.role, cause, restartsExhausted, maxRestarts: record.spec.maxRestarts, ...extra };
    }
    if (record.state === 'alive' && record.incarnation > after) return { state: 'alive', info: this.info(live), ...extra };
    return undefined;
  }

  private wake(live: LiveActor): void {
    const waiting = live.waiters;
    live.waiters = [];
    for (const waiter of waiting) {
      const resolution = this.resolution(live, waiter.after);
      if (resolution) waiter.resolve(resolution);
      else live.waiters.push(waiter);
    }
  }

  private schedulePending(): void {
    this.groups.retryPending();
    this.schedulePendingActors();
  }

  /** Start queued actors that fit now (their placement group may just have been created). */
  private schedulePendingActors(): void {
    for (let index = 0; index < this.pendingActors.length; ) {
      const live = this.actors.get(this.pendingActors[index] as string);
      if (!live || live.record.state === 'dead' || this.trySchedule(live)) this.pendingActors.splice(index, 1);
      else index++;
    }
  }

  /** Nothing waits in silence: actors pending for resources are logged with the shortfall on each node. */
  private reportPending(now: number): void {
    for (const actorId of this.pendingActors) {
      const live = this.actors.get(actorId);
      if (!live || live.pendingSinceMs === undefined || now - live.pendingSinceMs < PENDING_WARNING_MS) continue;
      if (live.pendingWarnedMs !== undefined && now - live.pendingWarnedMs < 60_000) continue;
      live.pendingWarnedMs = now;
      const { spec } = live.record;
      const where = spec.placementGroupId !== undefined
        ? `in placement group ${spec.placementGroupId}${spec.bundleIndex === undefined ? '' : ` bundle ${spec.bundleIndex}`}`
        : this.nodeList.map((node) => `${node.nodeId}: ${node.pool.shortfall(spec.resources).join(', ') || 'fits'}`).join('; ');
      this.options.logger.warn(
        { actor: live.record.displayName, role: spec.role, waitingMs: now - live.pendingSinceMs },
        `actor ${live.record.displayName} ${formatResources(spec.resources)} has waited ${Math.round((now - live.pendingSinceMs) / 1000)} s for resources (${where})`,
      );
    }
  }

  private reapDetached(): void {
    const now = Date.now();
    this.reportPending(now);
    for (const live of this.actors.values()) {
      const { spec, state, lastActivityMs } = live.record;
      if (!spec.detached || spec.ttlMs === undefined || state !== 'alive') continue;
      if (now - lastActivityMs > spec.ttlMs) {
        this.options.logger.warn({ actor: live.record.displayName, ttlMs: spec.ttlMs }, `reaping detached actor ${live.record.displayName}: idle past its TTL`);
        this.kill(live, { kind: 'reaped', reason: `reaped: a detached actor idle for longer than its TTL of ${spec.ttlMs} ms` });
      }
    }
  }

  private liveForWorker(clientId: string): LiveActor {
    const actorId = this.workers.get(clientId)?.actorId;
    const live = actorId === undefined ? undefined : this.actors.get(actorId);
    if (!live) throw new ConfigError([{ path: 'clientId', message: `unknown worker ${clientId}` }]);
    return live;
  }

  private info(live: LiveActor): ActorInfo {
    const record = live.record;
    return {
      actorId: record.actorId,
      displayName: record.displayName,
      role: record.spec.role,
      ...(record.spec.namespace === undefined ? {} : { namespace: record.spec.namespace }),
      maxTaskRetries: record.spec.maxTaskRetries,
      incarnation: record.incarnation,
      address: record.address ?? '',
      clientId: record.clientId ?? '',
      nodeId: record.nodeId ?? '',
      gpuIds: record.gpuIds,
    };
  }
}
