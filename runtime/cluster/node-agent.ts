import { join } from 'node:path';
import type { Logger } from 'pino';
import { PosttrainError } from '../errors.ts';
import { ModuleAllowList } from '../module-allow-list.ts';
import { ActorModuleNotAllowedError } from '../runtime-errors.ts';
import type { ActorDeathCause } from '../runtime-errors.ts';
import type { Resources } from '../resources.ts';
import type { ObjectStoreOptions } from '../runtime-options.ts';
import { HeadServer, frameArguments, respondWith } from '../head/head-server.ts';
import { WorkerPool, type WorkerAssignment } from '../head/worker-pool.ts';
import type { WorkerProcess } from '../head/worker-process.ts';
import { ObjectDirectory } from '../object-store/object-directory.ts';
import { createSessionDirectories, type SessionDirectories } from '../object-store/session-directories.ts';
import type { RpcConnection } from '../transport/rpc.ts';
import { FrameKind, type Frame } from '../transport/transport.ts';
import { decodeValue, encodeValue, viewBuffer } from '../value-codec.ts';
import { errorFromData, type ErrorData } from '../runtime-errors.ts';
import type { HeartbeatReport, NodeRegistration } from './cluster-head.ts';
import type { ClusterSecurity, TlsFiles } from './grpc/cluster-security.ts';
import type { GrpcTransportOptions } from './grpc/grpc-options.ts';
import { GrpcTransport } from './grpc/grpc-transport.ts';
import { HeadLink } from './head-link.ts';
import { NodeAgentService } from './node-agent-service.ts';
import { NodeLivenessLease, type NodeLivenessSettings } from './etcd-node-liveness.ts';
import { ObjectHome } from './object-home.ts';
import type { StartWorkerRequest } from './remote-launcher.ts';

export interface NodeAgentOptions {
  /** The head, `host:port` or `grpc:host:port`; or a leader and its standbys, comma-separated (etcd mode). */
  head: string;
  /** Unique in the cluster (default: the host name). */
  nodeId: string;
  /** The address other nodes reach this one at: its object home and its workers listen there. */
  host: string;
  /** Port of the object home (default 0: any). */
  port?: number;
  resources: Resources;
  /** Device ids of this node's GPUs (default 0..GPU-1). */
  gpuIds?: string[];
  security: ClusterSecurity;
  /** The files behind `security` (handed to workers, which load them themselves). */
  securityFiles?: { token?: string; tls?: TlsFiles };
  objectStore?: ObjectStoreOptions;
  actorModuleRoots?: string[];
  workerExecArgv?: string[];
  /** Booted workers kept ready for actors (default 1). */
  prestartWorkers?: number;
  logger: Logger;
  grpc?: Omit<GrpcTransportOptions, 'security' | 'logger'>;
  /** How long a fetch from an unreachable node is retried before its object counts as lost (default 30 s). */
  fetchTimeoutMs?: number;
}

interface AgentWorker {
  process: WorkerProcess;
  assignment: WorkerAssignment;
  ready: boolean;
  address?: string;
  localAddress?: string;
}

/**
 * A cluster node (`recipe cluster join <head>`): it registers its resources with the head, heartbeats, starts and
 * kills worker processes when the head says so (checking each actor's module against its own allow-list first),
 * serves its workers' control requests and their objects, and keeps everything running while the head is away,
 * reconnecting with backoff. If the head answers that this node's epoch was declared dead (the fencing rule in
 * `cluster-head.ts`), it kills every worker and registers again as a new epoch.
 *
 * @example
 * const agent = await NodeAgent.start({ head: '10.0.0.1:6380', nodeId: 'gpu-0', host: '10.0.0.5', resources: { CPU: 8, GPU: 1 }, security, logger });
 */
export class NodeAgent {
  private readonly workers = new Map<string, AgentWorker>();
  private epoch: number | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatMs = 1_000;
  private generation = '';
  private cursor = 0;
  private stopped = false;
  private fencing: Promise<void> | undefined;
  /** Waiting for the last actor here to exit (`stopWhenIdle`). */
  private readonly idleWaiters: (() => void)[] = [];
  /** etcd mode (the head says so when this node registers): this node's liveness lease. */
  private livenessLease: NodeLivenessLease | undefined;
  private readonly allowList: ModuleAllowList;
  private readonly logger: Logger;
  private readonly pool: WorkerPool;
  private readonly link: HeadLink;
  private readonly server: HeadServer;

  private constructor(
    private readonly options: NodeAgentOptions,
    private readonly directories: SessionDirectories,
    private readonly directory: ObjectDirectory,
    private readonly transport: GrpcTransport,
    private readonly home: ObjectHome,
  ) {
    this.logger = options.logger;
    this.allowList = options.actorModuleRoots ? new ModuleAllowList(options.actorModuleRoots) : ModuleAllowList.defaults();
    const files = options.securityFiles ?? {};
    this.pool = new WorkerPool(
      {
        socketDirectory: directories.sockets,
        shmDirectory: directories.shm,
        spillDirectory: directories.spill,
        logger: this.logger,
        workerExecArgv: options.workerExecArgv ?? [],
        prestartWorkers: options.prestartWorkers ?? 1,
        idPrefix: 'idle-',
        cluster: {
          listenHost: options.host,
          objectHome: home.address,
          ...(options.security.token === undefined ? {} : { token: options.security.token }),
          ...(files.tls?.certFile !== undefined && files.tls.keyFile !== undefined ? { tls: { ...files.tls, certFile: files.tls.certFile, keyFile: files.tls.keyFile } } : {}),
          keepaliveMs: transport.options.keepaliveMs,
          keepaliveTimeoutMs: transport.options.keepaliveTimeoutMs,
        },
      },
      (clientId, cause) => this.workerExited(clientId, cause),
    );
    this.link = new HeadLink({
      transport,
      address: options.head,
      logger: this.logger,
      onConnect: (rpc) => this.register(rpc),
      onRequest: (frame, respond) => respondWith(respond, this.headRequest(frame)),
    });
    const service = new NodeAgentService(`node:${options.nodeId}`, this.link, directory, home, {
      assignment: (clientId) => this.pool.waitForAssignment(clientId) ?? (this.workers.has(clientId) ? Promise.resolve((this.workers.get(clientId) as AgentWorker).assignment) : undefined),
      ready: (clientId, address, localAddress) => {
        const worker = this.workers.get(clientId);
        if (!worker) return;
        worker.ready = true;
        worker.address = address;
        if (localAddress !== undefined) worker.localAddress = localAddress;
      },
    });
    this.server = new HeadServer(service, this.logger);
    home.useHomeStatus(async (address) => (await this.link.request<string | null>('homeStatus', [`node:${options.nodeId}`, address])) ?? undefined);
  }

  static async start(options: NodeAgentOptions): Promise<NodeAgent> {
    const logger = options.logger.child({ component: 'node-agent', node: options.nodeId });
    const directories = createSessionDirectories(options.objectStore ?? {}, 'posttrain-node-', logger);
    try {
      const directory = new ObjectDirectory({ shm: directories.shm, spill: directories.spill }, directories.memoryBytes);
      const transport = new GrpcTransport({ ...options.grpc, security: options.security, logger });
      const home = await ObjectHome.start(
        { host: options.host, port: options.port ?? 0 },
        { directory, transport, logger, label: `node ${options.nodeId}`, ...(options.fetchTimeoutMs === undefined ? {} : { fetchTimeoutMs: options.fetchTimeoutMs }) },
      );
      const agent = new NodeAgent({ ...options, logger }, directories, directory, transport, home);
      agent.pool.headAddress = await agent.server.listen(`unix:${join(directories.sockets, 'agent.sock')}`);
      await agent.link.start();
      agent.pool.refill();
      return agent;
    } catch (error) {
      directories.remove();
      throw error;
    }
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  get objectAddress(): string {
    return this.home.address;
  }

  /**
   * Kill every worker, leave the cluster's books to the head's timeout (in etcd mode: revoke the liveness lease, so
   * the head knows at once), and remove this node's files.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.killAll();
    await this.livenessLease?.close();
    await this.pool.close();
    this.link.close();
    await this.server.close();
    await this.home.close();
    await this.transport.close();
    this.directories.remove();
  }

  /**
   * Stop once no actor runs here any more (at once if none does); until then the node keeps serving its actors and
   * the head. Inside a Slurm job a SIGTERM means this (`slurm-signals.ts`): the driver is finishing its step on
   * these workers and removes them once it has checkpointed.
   */
  async stopWhenIdle(): Promise<void> {
    if (this.workers.size > 0) {
      this.logger.info({ actors: this.workers.size }, `stopping once the ${this.workers.size} actor(s) running here are removed`);
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    await this.stop();
  }

  /** Register (first time, after a reconnection, or after being fenced), reporting the workers that run here. */
  private async register(rpc: RpcConnection): Promise<void> {
    const registration: NodeRegistration = {
      nodeId: this.options.nodeId,
      ...(this.epoch === undefined ? {} : { epoch: this.epoch }),
      resources: this.options.resources,
      gpuIds: this.gpuIds(),
      address: this.home.address,
      workers: [...this.workers].map(([clientId, worker]) => ({
        clientId,
        ready: worker.ready,
        ...(worker.address === undefined ? {} : { address: worker.address }),
        ...(worker.localAddress === undefined ? {} : { localAddress: worker.localAddress }),
      })),
    };
    let reply: { epoch: number; heartbeatMs: number; generation: string; liveness?: NodeLivenessSettings };
    try {
      reply = (await request(rpc, 'register', [registration])) as typeof reply;
    } catch (error) {
      if ((error as { code?: string }).code !== 'NODE_FENCED') throw error;
      await this.fenced((error as Error).message);
      reply = (await request(rpc, 'register', [{ ...registration, epoch: undefined, workers: [] }])) as typeof reply;
    }
    const fresh = reply.epoch !== this.epoch;
    this.epoch = reply.epoch;
    this.heartbeatMs = reply.heartbeatMs;
    if (fresh) this.logger.info({ epoch: reply.epoch, head: this.options.head }, `registered with the head as ${this.options.nodeId} (epoch ${reply.epoch})`);
    this.holdLivenessLease(reply);
    this.startHeartbeats();
  }

  /** etcd mode: publish this registration's epoch under this node's own lease (see `etcd-node-liveness.ts`). */
  private holdLivenessLease(reply: { epoch: number; liveness?: NodeLivenessSettings }): void {
    if (!reply.liveness || this.stopped) return;
    this.livenessLease ??= new NodeLivenessLease(reply.liveness, this.options.nodeId, this.logger);
    this.livenessLease.hold(reply.epoch).catch((error: Error) => this.logger.warn({ err: error.message }, `could not publish this node's liveness lease in etcd: ${error.message}`));
  }

  private gpuIds(): string[] {
    return this.options.gpuIds ?? Array.from({ length: Math.floor(this.options.resources.GPU ?? 0) }, (_, index) => String(index));
  }

  /** Head says this epoch is dead: every worker here is stale (it may run elsewhere by now), so all of them go. */
  private fenced(reason: string): Promise<void> {
    this.fencing ??= (async () => {
      this.logger.warn({ epoch: this.epoch, reason }, `the head fenced this node off: ${reason}; killing every worker and registering again`);
      this.epoch = undefined;
      await this.killAll();
    })().finally(() => (this.fencing = undefined));
    return this.fencing;
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
  }

  private async heartbeat(): Promise<void> {
    if (this.epoch === undefined || !this.link.connected || this.fencing) return;
    const report: HeartbeatReport = {
      nodeId: this.options.nodeId,
      epoch: this.epoch,
      transfers: { ...this.home.transfers },
      usage: this.directory.usage(),
      generation: this.generation,
      cursor: this.cursor,
    };
    try {
      const reply = await this.link.request<{ lostHomes: [string, string][]; cursor: number; generation: string }>('heartbeat', [report]);
      this.generation = reply.generation;
      this.cursor = reply.cursor;
      for (const [home, reason] of reply.lostHomes) if (home !== this.home.address) this.home.homeLost(home, reason);
    } catch (error) {
      // Only an answer about the current epoch counts: a late one about an epoch already replaced is stale.
      if ((error as { code?: string }).code !== 'NODE_FENCED' || report.epoch !== this.epoch) return;
      await this.fenced((error as Error).message);
      try {
        const reply = await this.link.request<{ epoch: number; heartbeatMs: number; liveness?: NodeLivenessSettings }>('register', [{ nodeId: this.options.nodeId, resources: this.options.resources, gpuIds: this.gpuIds(), address: this.home.address, workers: [] }]);
        this.epoch = reply.epoch;
        this.holdLivenessLease(reply);
        this.logger.info({ epoch: reply.epoch }, `registered again as ${this.options.nodeId} (epoch ${reply.epoch})`);
      } catch (registerError) {
        this.logger.warn({ err: (registerError as Error).message }, 'could not register again after being fenced; retrying with the next heartbeat');
      }
    }
  }

  /** A request from the head: start or kill a worker. Both are idempotent (the head resends after a reconnection). */
  private async headRequest(frame: Frame): Promise<unknown> {
    const args = frameArguments(frame);
    switch (frame.route) {
      case 'startWorker': {
        const start = args[0] as StartWorkerRequest;
        if (this.workers.has(start.clientId)) return null;
        // The head checked the path; this node checks it against its own allow-list, on its own disk.
        try {
          start.assignment.spec.module = this.allowList.check(start.assignment.spec.module);
        } catch (error) {
          if (!(error instanceof ActorModuleNotAllowedError)) throw error;
          this.logger.warn({ actor: start.displayName, module: start.assignment.spec.module }, `refused to start ${start.displayName}: its module is outside this node's allow-list`);
          throw new PosttrainError('ACTOR_MODULE_NOT_ALLOWED', `node ${this.options.nodeId} runs only modules under ${this.allowList.roots.join(', ')} (its --actor-module-root), not ${start.assignment.spec.module}`, { path: start.assignment.spec.module });
        }
        const worker = this.pool.start(
          {
            clientId: start.clientId,
            nodeId: this.options.nodeId,
            actorId: start.assignment.actorId,
            incarnation: start.assignment.incarnation,
            plain: start.plain,
            env: start.env,
            execArgv: start.execArgv,
            gpuIds: start.gpuIds,
            logger: this.logger.child({ actor: start.displayName, role: start.role }),
            displayName: start.displayName,
          },
          () => start.assignment,
        );
        this.workers.set(start.clientId, { process: worker, assignment: start.assignment, ready: false });
        return null;
      }
      case 'killWorker':
        this.workers.get(args[0] as string)?.process.kill('SIGKILL');
        return null;
      default:
        throw new Error(`unknown request '${frame.route}' from the head`);
    }
  }

  private workerExited(clientId: string, cause: ActorDeathCause): void {
    const worker = this.workers.get(clientId);
    this.workers.delete(clientId);
    this.home.processDied(clientId, `${worker?.assignment.displayName ?? clientId} ${cause.reason}`);
    this.link.notify('processExited', [clientId, cause]);
    if (this.workers.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async killAll(): Promise<void> {
    const exits = [...this.workers.values()].map((worker) => {
      worker.process.kill('SIGKILL');
      return worker.process.exited;
    });
    await Promise.all(exits);
  }
}

/** One request on a raw connection (during registration, before the link counts as connected). */
async function request(rpc: RpcConnection, route: string, args: unknown[]): Promise<unknown> {
  const encoded = encodeValue(args);
  const frame = await rpc.request(route, encoded.json, encoded.buffers);
  if (frame.kind === FrameKind.Error) throw errorFromData(JSON.parse(frame.body) as ErrorData);
  return decodeValue(frame.body, (index, kind) => viewBuffer(frame.buffers[index] as Uint8Array, kind));
}
