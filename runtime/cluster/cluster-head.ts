import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ConfigError, PosttrainError } from '../errors.ts';
import { validateResources, type Resources } from '../resources.ts';
import type { ModuleAllowList } from '../module-allow-list.ts';
import type { ObjectStoreUsage } from '../object-store/object-directory.ts';
import type { NodeInfo } from '../control/control-plane.ts';
import type { ActorRecord, ControlStore } from '../control/control-store.ts';
import { Head } from '../head/head.ts';
import { RECONNECT_LONGEST_WAIT_MS } from './head-link.ts';
import type { LiveActor } from '../head/live-actor.ts';
import type { RpcConnection } from '../transport/rpc.ts';
import type { NodeLivenessSettings } from './etcd-node-liveness.ts';
import { NodeSessions, type NodeSession } from './node-sessions.ts';
import { RemoteLauncher } from './remote-launcher.ts';

export interface ClusterHeadOptions {
  store: ControlStore;
  allowList: ModuleAllowList;
  logger: Logger;
  /** How often node agents heartbeat. */
  heartbeatMs: number;
  /** A node whose heartbeat stops for this long is declared dead. */
  nodeTimeoutMs: number;
  /** A driver whose connection stays down this long is gone: its actors and placement groups go too. */
  driverTimeoutMs: number;
  reaperIntervalMs: number;
  /** etcd mode: where node agents keep their liveness leases (sent to each agent with its registration reply). */
  liveness?: NodeLivenessSettings;
}

/** What a node agent says when it (re)registers. */
export interface NodeRegistration {
  nodeId: string;
  /** The epoch it was given before (absent on its first registration, and after it was fenced). */
  epoch?: number;
  resources: Resources;
  gpuIds: string[];
  /** The agent's object home, `grpc:host:port`. */
  address: string;
  /** The workers it runs now, so that a restarted head (or one that lost touch) can reconcile. */
  workers: { clientId: string; ready: boolean; address?: string; localAddress?: string }[];
}

/** What a node agent reports with each heartbeat. */
export interface HeartbeatReport {
  nodeId: string;
  epoch: number;
  transfers: { served: number; fetched: number };
  usage: ObjectStoreUsage;
  /** Which head generation `cursor` refers to, and how many lost homes the agent has already been told of. */
  generation: string;
  cursor: number;
}

/**
 * The fencing rule: a node registration is identified by (node id, epoch). Once the head declares an epoch dead
 * (no heartbeat for `nodeTimeoutMs`, or the same node id registered again by a new agent process), that epoch can
 * never come back: its heartbeats and re-registration are answered with this error, and the agent must kill every
 * worker it still runs before registering again under a new epoch. So a healed partition leaves neither a ghost
 * node (two registrations of one id) nor duplicate actors (the old workers die; restarts happened elsewhere).
 */
export class NodeFencedError extends PosttrainError {
  constructor(nodeId: string, epoch: number, reason: string) {
    super('NODE_FENCED', `node ${nodeId} epoch ${epoch} was declared dead (${reason}); its workers must be killed before it registers again`, { path: nodeId });
  }
}

interface DriverSession {
  clientId: string;
  home: string;
  startedMs: number;
  rpc: RpcConnection | undefined;
  timer?: NodeJS.Timeout;
}

const LOST_HOMES_KEPT = 10_000;

/**
 * The head of a cluster: the embedded head's scheduler (same placement, same resources, same actor lifecycle)
 * over nodes that join and leave, with its tables in a persistent control store. It adds node registration and
 * heartbeats with fencing, driver sessions (a driver's actors die with it, after a grace period for reconnecting),
 * and recovery: a restarted head reloads nodes, placement groups and actors from the store, and the running
 * actors carry on while their agents reconnect.
 *
 * @example
 * const head = new ClusterHead({ store: new SqliteControlStore(path), allowList, logger, heartbeatMs: 1000, nodeTimeoutMs: 10_000, driverTimeoutMs: 30_000, reaperIntervalMs: 1000 });
 * head.recover();
 */
export class ClusterHead extends Head {
  private readonly sessions: NodeSessions;
  private readonly remote: RemoteLauncher;
  private readonly drivers = new Map<string, DriverSession>();
  private readonly sweeper: NodeJS.Timeout;
  /** Homes (object addresses) of nodes and drivers that are gone, in order; agents poll them with heartbeats. */
  private readonly lostHomes: [string, string][] = [];
  private lostHomesBase = 0;
  readonly generation = randomBytes(6).toString('hex');

  constructor(private readonly clusterOptions: ClusterHeadOptions) {
    const sessions = new NodeSessions();
    let refused: (clientId: string, reason: string) => void = () => {};
    super({
      nodes: [],
      store: clusterOptions.store,
      allowList: clusterOptions.allowList,
      modulesAreLocal: false,
      logger: clusterOptions.logger,
      reaperIntervalMs: clusterOptions.reaperIntervalMs,
      launcher: (onExit) => new RemoteLauncher(sessions, onExit, (clientId, reason) => refused(clientId, reason)),
    });
    this.sessions = sessions;
    this.remote = this.launcher as RemoteLauncher;
    refused = (clientId, reason) => {
      const assigned = this.workers.get(clientId);
      const live = assigned === undefined ? undefined : this.actors.get(assigned.actorId);
      if (live) live.startError = reason;
    };
    this.sweeper = setInterval(() => this.sweep(), Math.min(clusterOptions.heartbeatMs, 250));
    this.sweeper.unref();
  }

  // ---- nodes ---------------------------------------------------------------------------------------------------

  registerNode(rpc: RpcConnection, registration: NodeRegistration): { epoch: number; heartbeatMs: number; nodeTimeoutMs: number; generation: string; liveness?: NodeLivenessSettings } {
    const { nodeId } = registration;
    const now = Date.now();
    const existing = this.sessions.get(nodeId);
    const liveness = this.clusterOptions.liveness;
    const reply = (epoch: number) => ({ epoch, heartbeatMs: this.clusterOptions.heartbeatMs, nodeTimeoutMs: this.clusterOptions.nodeTimeoutMs, generation: this.generation, ...(liveness ? { liveness } : {}) });
    if (registration.epoch !== undefined) {
      if (!existing || existing.epoch !== registration.epoch) {
        const record = this.options.store.listNodes().find((node) => node.nodeId === nodeId);
        throw new NodeFencedError(nodeId, registration.epoch, record?.deathReason ?? 'unknown to this head');
      }
      existing.address = registration.address;
      existing.lastHeartbeatMs = now;
      this.sessions.attach(existing, rpc);
      this.reconcile(existing, registration.workers);
      this.options.logger.info({ node: nodeId, epoch: existing.epoch }, `node ${nodeId} reconnected (epoch ${existing.epoch})`);
      return reply(existing.epoch);
    }
    if (existing) {
      const recentlyHeard = existing.rpc !== undefined && !existing.rpc.isClosed && now - existing.lastHeartbeatMs < 3 * this.clusterOptions.heartbeatMs;
      if (recentlyHeard) {
        throw new ConfigError([{ path: 'nodeName', message: `a node named '${nodeId}' is already registered and alive (at ${existing.address}); give each node agent its own --node-name` }]);
      }
      this.declareDead(nodeId, `its node agent registered again as a new process, so epoch ${existing.epoch} is gone`);
    }
    // Every node also offers `node:<id>: 1`, so that an actor can be pinned to a node (Ray's `node:<ip>`).
    const resources = { ...validateResources(registration.resources, 'resources'), [`node:${nodeId}`]: 1 };
    const epoch = this.options.store.nextSequence('node-epoch');
    this.addNode({ nodeId, resources, gpuIds: registration.gpuIds });
    this.options.store.putNode({ nodeId, resources, gpuIds: registration.gpuIds, alive: true, epoch, address: registration.address });
    const session: NodeSession = { nodeId, epoch, address: registration.address, rpc: undefined, lastHeartbeatMs: now, queued: [], transfers: { served: 0, fetched: 0 }, usage: undefined };
    this.sessions.add(session);
    this.sessions.attach(session, rpc);
    this.options.logger.info({ node: nodeId, epoch, address: registration.address, resources }, `node ${nodeId} joined (epoch ${epoch})`);
    return reply(epoch);
  }

  heartbeat(report: HeartbeatReport): { lostHomes: [string, string][]; cursor: number; generation: string } {
    const session = this.sessions.get(report.nodeId);
    if (!session || session.epoch !== report.epoch) {
      const record = this.options.store.listNodes().find((node) => node.nodeId === report.nodeId);
      throw new NodeFencedError(report.nodeId, report.epoch, record?.deathReason ?? 'unknown to this head');
    }
    session.lastHeartbeatMs = Date.now();
    session.transfers = report.transfers;
    session.usage = report.usage;
    const from = report.generation === this.generation ? Math.max(report.cursor - this.lostHomesBase, 0) : 0;
    return { lostHomes: this.lostHomes.slice(from), cursor: this.lostHomesBase + this.lostHomes.length, generation: this.generation };
  }

  /** A node agent's report about one of its workers. */
  nodeNotification(nodeId: string, route: string, args: unknown[]): void {
    const clientId = args[0] as string;
    if (route === 'touchActor') {
      this.touchActor(clientId);
      return;
    }
    if (!this.remote.workersOn(nodeId).includes(clientId)) return;
    switch (route) {
      case 'processExited':
        this.remote.exited(clientId, args[1] as never);
        return;
      case 'workerReady':
        this.workerReady(clientId, args[1] as string, (args[2] as string | null) ?? undefined);
        return;
      case 'workerFailed':
        this.workerFailed(clientId, args[1] as string);
        return;
    }
  }

  /** A worker's request, forwarded by its node agent: only that node's own workers may be named as the caller. */
  checkWorkerOf(nodeId: string, caller: string): void {
    const assigned = this.workers.get(caller);
    const live = assigned === undefined ? undefined : this.actors.get(assigned.actorId);
    if (!live || live.record.nodeId !== nodeId) {
      throw new PosttrainError('NOT_A_WORKER_OF_THIS_NODE', `node ${nodeId} forwarded a request for '${caller}', which is not one of its workers`, { path: caller });
    }
  }

  override async nodes(): Promise<NodeInfo[]> {
    const alive = (await super.nodes()).map((info) => {
      const session = this.sessions.get(info.nodeId);
      return session ? { ...info, address: session.address, epoch: session.epoch, objectTransfers: session.transfers } : info;
    });
    const dead = this.options.store
      .listNodes()
      .filter((record) => !record.alive && !this.sessions.get(record.nodeId))
      .map((record) => ({
        nodeId: record.nodeId,
        total: record.resources,
        free: {},
        gpuIds: record.gpuIds,
        alive: false,
        ...(record.epoch === undefined ? {} : { epoch: record.epoch }),
        ...(record.address === undefined ? {} : { address: record.address }),
        ...(record.deathReason === undefined ? {} : { deathReason: record.deathReason }),
      }));
    return [...alive, ...dead];
  }

  override async objectStoreUsage(): Promise<ObjectStoreUsage> {
    const total: ObjectStoreUsage = { usedBytes: 0, spilledBytes: 0, objects: 0, budgetBytes: 0 };
    for (const session of this.sessions.all()) {
      if (!session.usage) continue;
      total.usedBytes += session.usage.usedBytes;
      total.spilledBytes += session.usage.spilledBytes;
      total.objects += session.usage.objects;
      total.budgetBytes += session.usage.budgetBytes;
    }
    return total;
  }

  /**
   * etcd mode: the liveness lease of `nodeId`'s registration `epoch` ended (its agent stopped renewing it for a lease
   * TTL, or revoked it on a clean stop). If that registration is the current one, the node is dead now.
   */
  nodeLeaseExpired(nodeId: string, epoch: number, why: string): void {
    const session = this.sessions.get(nodeId);
    if (session?.epoch === epoch) this.declareDead(nodeId, why);
  }

  /** The nodes this head counts as alive, with their epochs. */
  liveNodeEpochs(): Map<string, number> {
    return new Map(this.sessions.all().map((session) => [session.nodeId, session.epoch]));
  }

  /** A node agent's connection closed; it has until the node timeout to come back. */
  nodeDisconnected(nodeId: string, rpc: RpcConnection): void {
    this.sessions.detach(nodeId, rpc);
  }

  get logger(): Logger {
    return this.options.logger;
  }

  /** Why an object home (a node's or a driver's address) is gone, if it is: for fetches that find it unreachable. */
  homeLostReason(home: string): string | undefined {
    for (let index = this.lostHomes.length - 1; index >= 0; index--) {
      const [lost, reason] = this.lostHomes[index] as [string, string];
      if (lost === home) return reason;
    }
    const node = this.options.store.listNodes().find((record) => record.address === home && !record.alive && !this.sessions.get(record.nodeId));
    if (node) return `its node ${node.nodeId} (${home}) was lost: ${node.deathReason ?? 'declared dead'}`;
    const job = this.options.store.listJobs().find((record) => record.address === home && record.state !== 'running');
    if (job) return `its owner, driver ${job.jobId}, ended (${job.reason ?? job.state})`;
    return undefined;
  }

  // ---- drivers -------------------------------------------------------------------------------------------------

  driverHello(rpc: RpcConnection, clientId: string, home: string): void {
    const existing = this.drivers.get(clientId);
    if (existing) {
      if (existing.timer) clearTimeout(existing.timer);
      existing.timer = undefined;
      existing.rpc = rpc;
      existing.home = home;
      this.options.logger.info({ driver: clientId }, `driver ${clientId} reconnected`);
      return;
    }
    const session: DriverSession = { clientId, home, startedMs: Date.now(), rpc };
    this.drivers.set(clientId, session);
    this.options.store.putJob({ jobId: clientId, state: 'running', startedMs: session.startedMs, address: home });
    this.options.logger.info({ driver: clientId, home }, `driver ${clientId} connected`);
  }

  /** The driver's connection dropped: it has `driverTimeoutMs` to come back before its actors go. */
  driverDisconnected(clientId: string, rpc: RpcConnection): void {
    const session = this.drivers.get(clientId);
    if (!session || session.rpc !== rpc) return;
    session.rpc = undefined;
    this.startDriverGrace(session, `its connection was lost for ${this.clusterOptions.driverTimeoutMs} ms`);
  }

  /** The driver shut down: its actors and placement groups go now; resolves when its actors are gone. */
  async driverGoodbye(clientId: string): Promise<void> {
    const owned = [...this.actors.values()].filter((live) => live.record.owner === clientId && !live.record.spec.detached && live.record.state !== 'dead');
    this.driverEnded(clientId, 'finished', 'it shut down');
    await Promise.race([
      Promise.all(owned.map((live) => this.resolveActor(live.record.actorId, Number.MAX_SAFE_INTEGER))),
      new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
    ]);
  }

  // ---- recovery ------------------------------------------------------------------------------------------------

  /**
   * Reload what a previous head left in the store. Nodes that were alive are taken back and given one node timeout
   * (plus the longest reconnection backoff) to reconnect; placement groups re-reserve their bundles on them; running
   * actors re-reserve their resources (on the same GPU devices) and keep running; drivers that were connected get
   * their grace period.
   */
  recover(): void {
    const store = this.options.store;
    const now = Date.now();
    for (const record of store.listNodes()) {
      if (!record.alive || record.epoch === undefined || record.address === undefined) continue;
      this.addNode({ nodeId: record.nodeId, resources: record.resources, gpuIds: record.gpuIds });
      store.putNode(record);
      // One node timeout from now, plus the longest reconnection backoff the node may be sitting in.
      const lastHeartbeatMs = now + RECONNECT_LONGEST_WAIT_MS;
      this.sessions.add({ nodeId: record.nodeId, epoch: record.epoch, address: record.address, rpc: undefined, lastHeartbeatMs, queued: [], transfers: { served: 0, fetched: 0 }, usage: undefined });
    }
    for (const group of store.listPlacementGroups()) if (group.state !== 'removed') this.groups.restore(group);
    const records = store.listActors();
    for (const record of records) this.restoreActor(record);
    for (const job of store.listJobs()) {
      if (job.state !== 'running') continue;
      const session: DriverSession = { clientId: job.jobId, home: job.address ?? '', startedMs: job.startedMs, rpc: undefined };
      this.drivers.set(job.jobId, session);
      this.startDriverGrace(session, `it did not reconnect within ${this.clusterOptions.driverTimeoutMs} ms of the head restarting`);
    }
    this.schedulePending();
    this.options.logger.info(
      { nodes: this.sessions.all().length, actors: records.filter((record) => record.state !== 'dead').length, drivers: this.drivers.size },
      'head recovered its state from the control store',
    );
  }

  private restoreActor(record: ActorRecord): void {
    const live: LiveActor = { record, creation: { resolve: () => {}, reject: () => {}, settled: true }, waiters: [] };
    this.actors.set(record.actorId, live);
    if (record.state === 'dead') {
      this.forgetOldDead(record.actorId);
      return;
    }
    const running = record.clientId !== undefined && record.nodeId !== undefined && this.sessions.get(record.nodeId) !== undefined && record.state !== 'pending';
    if (!running) {
      if (record.state !== 'pending') {
        // Its node did not survive the head's downtime: like any node loss, restart it if it may.
        record.state = record.restarts < record.spec.maxRestarts ? 'restarting' : record.state;
        if (record.state !== 'restarting') {
          this.finalize(live, { kind: 'node-lost', reason: `its node ${record.nodeId ?? '(none)'} was gone when the head restarted` });
          return;
        }
        record.restarts++;
      }
      this.pendingActors.push(record.actorId);
      return;
    }
    const spec = record.spec;
    const pool = spec.placementGroupId !== undefined
      ? this.groups.get(spec.placementGroupId)?.bundlePools[record.bundle ?? spec.bundleIndex ?? 0]
      : this.nodeList.find((node) => node.nodeId === record.nodeId)?.pool;
    const allocation = pool?.allocateDevices(spec.resources, record.gpuIds);
    if (pool && allocation) {
      live.pool = pool;
      live.allocation = allocation;
    } else {
      this.options.logger.warn({ actor: record.displayName, node: record.nodeId }, `actor ${record.displayName}'s resources could not be reserved again after the restart; it keeps running`);
    }
    live.process = this.remote.restore(record.clientId as string, record.nodeId as string, record.pid);
    this.workers.set(record.clientId as string, { actorId: record.actorId, incarnation: record.incarnation });
  }

  // ---- shutdown ------------------------------------------------------------------------------------------------

  /** Stop serving. Nodes keep their workers: a head started on the same store takes them back. */
  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    for (const driver of this.drivers.values()) if (driver.timer) clearTimeout(driver.timer);
    this.sessions.closeAll();
    await this.close({ keepWorkers: true });
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private sweep(): void {
    const now = Date.now();
    for (const session of this.sessions.all()) {
      const silent = now - session.lastHeartbeatMs;
      if (silent > this.clusterOptions.nodeTimeoutMs) this.declareDead(session.nodeId, `no heartbeat for ${silent} ms (node timeout ${this.clusterOptions.nodeTimeoutMs} ms)`);
    }
  }

  private declareDead(nodeId: string, why: string): void {
    const session = this.sessions.get(nodeId);
    if (!session) return;
    this.sessions.remove(nodeId, why);
    const record = this.options.store.listNodes().find((node) => node.nodeId === nodeId);
    if (record) this.options.store.putNode({ ...record, alive: false, deathReason: why });
    this.remote.nodeLost(nodeId);
    const reason = `its node ${nodeId} (${session.address}) was lost: ${why}`;
    this.nodeLost(nodeId, reason);
    this.recordLostHome(session.address, reason);
  }

  /** Every processed registration learns of lost homes through its heartbeats. */
  private recordLostHome(home: string, reason: string): void {
    this.lostHomes.push([home, reason]);
    if (this.lostHomes.length > LOST_HOMES_KEPT) {
      this.lostHomes.shift();
      this.lostHomesBase++;
    }
  }

  /** Make the head's view of a reconnected node's workers match what really runs there. */
  private reconcile(session: NodeSession, reported: NodeRegistration['workers']): void {
    const running = new Map(reported.map((worker) => [worker.clientId, worker]));
    for (const clientId of this.remote.workersOn(session.nodeId)) {
      const worker = running.get(clientId);
      if (!worker) {
        this.remote.exited(clientId, { kind: 'exit', reason: 'its process was gone when its node agent reconnected', exitCode: null, signal: null });
      } else if (worker.ready && worker.address !== undefined) {
        this.workerReady(clientId, worker.address, worker.localAddress);
      }
    }
    for (const worker of reported) {
      if (!this.workers.has(worker.clientId)) {
        this.options.logger.warn({ node: session.nodeId, worker: worker.clientId }, `node ${session.nodeId} runs worker ${worker.clientId}, which this head does not know: killing it`);
        void this.sessions.request(session.nodeId, 'killWorker', [worker.clientId]).catch(() => {});
      }
    }
  }

  private startDriverGrace(session: DriverSession, reason: string): void {
    if (session.timer) clearTimeout(session.timer);
    session.timer = setTimeout(() => this.driverEnded(session.clientId, 'failed', reason), this.clusterOptions.driverTimeoutMs);
    session.timer.unref();
  }

  private driverEnded(clientId: string, state: 'finished' | 'failed', reason: string): void {
    const session = this.drivers.get(clientId);
    if (!session) return;
    if (session.timer) clearTimeout(session.timer);
    this.drivers.delete(clientId);
    this.options.store.putJob({ jobId: clientId, state, startedMs: session.startedMs, endedMs: Date.now(), address: session.home, reason });
    this.options.logger[state === 'finished' ? 'info' : 'warn']({ driver: clientId, reason }, `driver ${clientId} ended: ${reason}`);
    this.ownerDied(clientId, `driver ${clientId}`);
    if (session.home !== '') this.recordLostHome(session.home, `its owner, driver ${clientId}, ended (${reason})`);
  }
}
