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
import { ResourcePool, type Resources } from '../resources.ts';
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
import type { WorkerExitListener, WorkerHandle, WorkerLauncher } from './worker-launcher.ts';
import type { WorkerAssignment } from './worker-pool.ts';
import { checkActorFeasible } from './feasibility.ts';
import { actorInfo, isUnexpectedDeath, resolutionOf, wakeWaiters, type LiveActor } from './live-actor.ts';

export interface HeadNode {
  nodeId: string;
  resources: Resources;
  gpuIds?: string[];
}

export interface HeadOptions {
  /** Nodes known from the start (the embedded runtime's logical nodes); a cluster head adds them as they join. */
  nodes: HeadNode[];
  store: ControlStore;
  /** The embedded runtime's object directory. A cluster head has none: objects live on the nodes. */
  objects?: ObjectDirectory;
  allowList: ModuleAllowList;
  /** Whether an actor's module must exist where the head runs (false for a cluster head: nodes check it). */
  modulesAreLocal?: boolean;
  logger: Logger;
  reaperIntervalMs: number;
  /** Makes the launcher that starts workers; `onExit` must be called once for every worker it started. */
  launcher: (onExit: WorkerExitListener) => WorkerLauncher;
}

const MAX_DEAD_REMEMBERED = 1_000;

/** An actor waiting for resources is reported after this long, and again every minute, with what is missing. */
const PENDING_WARNING_MS = 10_000;

/**
 * The head: nodes and their resources, the actor table and scheduler, placement groups, named things, the
 * detached-actor reaper, and (embedded) the object directory. The embedded runtime runs it inside the driver's
 * process and serves workers over the local channel through `HeadServer`; a cluster head (`ClusterHead`) adds
 * nodes as they join, starts workers through their node agents and keeps its tables in SQLite. Both go through
 * the same scheduling code, so placement groups and resources behave the same on logical and real nodes. It
 * implements `ControlPlane`, the interface every process uses.
 */
export class Head implements ControlPlane {
  protected readonly nodeList: PlacementNode[] = [];
  protected readonly actors = new Map<string, LiveActor>();
  /** Worker process id -> the actor incarnation it runs. */
  protected readonly workers = new Map<string, { actorId: string; incarnation: number }>();
  protected readonly pendingActors: string[] = [];
  private readonly dead: string[] = [];
  protected readonly groups: PlacementGroupManager;
  private readonly reaper: NodeJS.Timeout;
  protected readonly launcher: WorkerLauncher;
  protected closing = false;

  constructor(protected readonly options: HeadOptions) {
    this.groups = new PlacementGroupManager(this.nodeList, options.store, () => this.schedulePendingActors());
    for (const node of options.nodes) this.addNode(node);
    this.launcher = options.launcher((clientId, cause) => this.processExited(clientId, cause));
    this.reaper = setInterval(() => this.reapDetached(), options.reaperIntervalMs);
    this.reaper.unref();
  }

  // ---- objects (embedded only) ---------------------------------------------------------------------------------

  reserve(owner: string, ownerName: string, bytes: number): Promise<{ id: string; location: ObjectLocation }> {
    return Promise.resolve(this.objectDirectory().reserve(owner, ownerName, bytes));
  }

  relocate(id: string, location: ObjectLocation): void {
    this.objectDirectory().relocate(id, location);
  }

  references(client: string, operations: ReferenceOperation[]): void {
    this.objectDirectory().apply(client, operations);
  }

  locate(id: string): Promise<ObjectStatus> {
    return Promise.resolve(this.objectDirectory().locate(id));
  }

  async objectStoreUsage() {
    return this.objectDirectory().usage();
  }

  private objectDirectory(): ObjectDirectory {
    if (!this.options.objects) throw new ConfigError([{ path: 'objects', message: 'a cluster head keeps no objects: they live on the nodes that put them' }]);
    return this.options.objects;
  }

  // ---- nodes ---------------------------------------------------------------------------------------------------

  /** A node joins (logical nodes at start; cluster nodes when they register). */
  addNode(node: HeadNode): void {
    if (this.nodeList.some((existing) => existing.nodeId === node.nodeId)) throw new ConfigError([{ path: 'nodeId', message: `node '${node.nodeId}' is already registered` }]);
    this.nodeList.push({ nodeId: node.nodeId, pool: new ResourcePool(node.resources, node.gpuIds) });
    this.options.store.putNode({ nodeId: node.nodeId, resources: node.resources, gpuIds: node.gpuIds ?? [], alive: true });
    this.schedulePending();
  }

  /**
   * A node is gone (its heartbeat stopped, or it came back under a new epoch). Nothing new is placed on it; its
   * actors die with cause `node-lost` (restarted elsewhere when `maxRestarts` allows); placement-group bundles it
   * held are placed again where resources allow.
   */
  nodeLost(nodeId: string, reason: string): void {
    const index = this.nodeList.findIndex((node) => node.nodeId === nodeId);
    if (index < 0) return;
    this.nodeList.splice(index, 1);
    const cause: ActorDeathCause = { kind: 'node-lost', reason };
    this.options.logger.warn({ node: nodeId, reason }, reason);
    for (const live of this.actors.values()) {
      if (live.record.nodeId !== nodeId || live.record.state === 'dead' || live.record.state === 'pending') continue;
      // The reservation went with the node; a restart is scheduled afresh.
      live.allocation = undefined;
      live.pool = undefined;
      const clientId = live.record.clientId;
      const assigned = clientId === undefined ? undefined : this.workers.get(clientId);
      if (clientId !== undefined && assigned) this.workerExited(live, clientId, assigned.incarnation, cause);
      else this.finalize(live, cause);
    }
    this.groups.nodeLost(nodeId);
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

  // ---- actors --------------------------------------------------------------------------------------------------

  createActor(creator: string, spec: ActorCreateSpec): Promise<ActorInfo> {
    if (this.closing) return Promise.reject(new RuntimeClosedError('createActor'));
    const module = this.options.allowList.check(spec.module, { mustExist: this.options.modulesAreLocal ?? true });
    const actorId = `a${this.options.store.nextSequence('actor')}`;
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
    if (live.record.state === 'alive') return actorInfo(live.record);
    const resolution = await this.resolveActor(live.record.actorId, 0);
    return resolution.state === 'alive' ? resolution.info : undefined;
  }

  resolveActor(actorId: string, afterIncarnation: number): Promise<ActorResolution> {
    const live = this.actors.get(actorId);
    if (!live) {
      return Promise.resolve({ state: 'dead', displayName: actorId, role: 'unknown', cause: { kind: 'exit', reason: 'no such actor (it ended long ago or never existed)' }, restartsExhausted: false, maxRestarts: 0 });
    }
    const now = resolutionOf(live.record, afterIncarnation);
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

  /** A process that created actors or placement groups is gone: its non-detached actors and its groups go too. */
  ownerDied(owner: string, ownerName: string): void {
    for (const owned of this.actors.values()) {
      if (owned.record.owner === owner && !owned.record.spec.detached && owned.record.state !== 'dead') {
        this.kill(owned, { kind: 'owner-died', reason: `its owner '${ownerName}' died` });
      }
    }
    for (const groupId of this.groups.ownedBy(owner)) void this.removePlacementGroup(groupId);
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

  // ---- small shared values -------------------------------------------------------------------------------------

  async putKey(namespace: string, key: string, value: string): Promise<void> {
    this.options.store.putKey(namespace, key, value);
  }

  async getKey(namespace: string, key: string): Promise<string | undefined> {
    return this.options.store.getKey(namespace, key);
  }

  // ---- workers (called by HeadServer, or by node agents in a cluster) ------------------------------------------
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
    return this.launcher.waitForAssignment?.(clientId) ?? Promise.resolve(this.assignment(this.liveForWorker(clientId)));
  }

  protected assignment(live: LiveActor): WorkerAssignment {
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

  workerReady(clientId: string, address: string, localAddress?: string): void {
    const live = this.liveForWorker(clientId);
    if (live.record.clientId !== clientId || live.record.state === 'dead') return;
    live.record.state = 'alive';
    live.record.address = address;
    if (localAddress !== undefined) live.record.localAddress = localAddress;
    live.record.lastActivityMs = Date.now();
    this.options.store.putActor(live.record);
    const info = actorInfo(live.record);
    if (!live.creation.settled) {
      live.creation.settled = true;
      live.creation.resolve(info);
    }
    wakeWaiters(live);
  }

  workerFailed(clientId: string, reason: string): void {
    const live = this.liveForWorker(clientId);
    live.constructorError = reason;
    live.process?.kill();
  }

  /** A worker ended (reported by the launcher, or by node-loss handling). */
  processExited(clientId: string, cause: ActorDeathCause): void {
    const assigned = this.workers.get(clientId);
    const live = assigned === undefined ? undefined : this.actors.get(assigned.actorId);
    if (assigned && live) this.workerExited(live, clientId, assigned.incarnation, cause);
  }

  /**
   * Stop: reject whatever waits and, unless `keepWorkers` (a cluster head stopping or restarting, whose actors keep
   * running on their nodes), kill every worker.
   */
  async close(options: { keepWorkers?: boolean } = {}): Promise<void> {
    this.closing = true;
    clearInterval(this.reaper);
    this.groups.closeAll();
    const exits: Promise<void>[] = [this.launcher.close()];
    for (const live of this.actors.values()) {
      if (!live.creation.settled) {
        live.creation.settled = true;
        live.creation.reject(new RuntimeClosedError(`creating actor '${live.record.displayName}'`));
      }
      if (options.keepWorkers) continue;
      const worker = live.process;
      if (worker?.running) {
        exits.push(worker.exited);
        live.killCause ??= { kind: 'shutdown', reason: 'the runtime shut down' };
        worker.kill();
      }
    }
    await Promise.all(exits);
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

  protected trySchedule(live: LiveActor): boolean {
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
      live.record.bundle = index;
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

  /** The fitting node with the most free CPU (ties: node order): spreads actors over nodes by default. */
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
    const started = this.launcher.start(
      { nodeId: record.nodeId ?? '', actorId: record.actorId, incarnation, plain, env: record.spec.env, execArgv: record.spec.execArgv, gpuIds: record.gpuIds, logger, displayName: record.displayName },
      () => this.assignment(live),
    );
    this.workers.set(started.clientId, { actorId: record.actorId, incarnation });
    record.clientId = started.clientId;
    live.process = started;
    record.pid = started.pid;
    this.options.store.putActor(record);
  }

  private workerExited(live: LiveActor, clientId: string, incarnation: number, exitCause: ActorDeathCause): void {
    const record = live.record;
    this.workers.delete(clientId);
    const cause: ActorDeathCause = live.startError !== undefined
      ? { kind: 'constructor-failed', reason: `its node could not start it: ${live.startError}` }
      : live.constructorError !== undefined
      ? { kind: 'constructor-failed', reason: `its constructor failed: ${live.constructorError}` }
      : live.killCause
        ? { ...live.killCause, exitCode: exitCause.exitCode ?? null, signal: exitCause.signal ?? null }
        : exitCause;
    record.deaths[incarnation] = cause;
    this.options.objects?.processDied(clientId, `${record.displayName} ${cause.reason}`);
    const unexpected = isUnexpectedDeath(cause);
    this.options.logger[unexpected ? 'warn' : 'info']({ actor: record.displayName, role: record.spec.role, node: record.nodeId, incarnation, cause: cause.reason }, `actor ${record.displayName} ended: ${cause.reason}`);
    this.ownerDied(clientId, record.displayName);
    const canRestart = !this.closing && live.killCause === undefined && live.constructorError === undefined && live.startError === undefined && live.creation.settled;
    if (canRestart && record.restarts < record.spec.maxRestarts) {
      record.restarts++;
      record.state = 'restarting';
      this.options.logger.info({ actor: record.displayName, role: record.spec.role, restart: record.restarts }, `restarting actor ${record.displayName} (${record.restarts} of ${record.spec.maxRestarts})`);
      if (live.allocation) {
        this.startWorker(live);
      } else {
        // Its node is gone: it waits for room elsewhere like a new actor.
        this.options.store.putActor(record);
        this.pendingActors.push(record.actorId);
      }
      wakeWaiters(live);
      return;
    }
    const creationError = !live.creation.settled ? new ActorCreationError(record.displayName, cause.reason) : undefined;
    this.finalize(live, cause, creationError);
  }

  /** Mark dead for good: free resources and the name, reject creation and wake waiters. */
  protected finalize(live: LiveActor, cause: ActorDeathCause, creationError?: Error): void {
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
    wakeWaiters(live);
    this.forgetOldDead(record.actorId);
    this.schedulePending();
  }

  /**
   * Dead actors are remembered so that late callers learn why they died; the oldest are forgotten beyond a bound
   * so that a long sweep creating thousands of actors does not grow the driver.
   */
  protected forgetOldDead(actorId: string): void {
    this.dead.push(actorId);
    while (this.dead.length > MAX_DEAD_REMEMBERED) {
      const oldest = this.dead.shift() as string;
      this.actors.delete(oldest);
      this.options.store.deleteActor(oldest);
    }
  }

  protected kill(live: LiveActor, cause: ActorDeathCause | undefined, creationError?: Error): void {
    if (cause !== undefined) live.killCause = cause;
    if (live.process?.running && this.workers.has(live.process.clientId)) live.process.kill();
    else if (cause !== undefined) this.finalize(live, cause, creationError);
  }

  protected schedulePending(): void {
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

  protected liveForWorker(clientId: string): LiveActor {
    const actorId = this.workers.get(clientId)?.actorId;
    const live = actorId === undefined ? undefined : this.actors.get(actorId);
    if (!live) throw new ConfigError([{ path: 'clientId', message: `unknown worker ${clientId}` }]);
    return live;
  }
}
