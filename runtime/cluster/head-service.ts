import type { Logger } from 'pino';
import { PosttrainError } from '../errors.ts';
import { ModuleAllowList } from '../module-allow-list.ts';
import { frameArguments, respondWith, serveControlRequest } from '../head/head-server.ts';
import { RpcConnection } from '../transport/rpc.ts';
import type { Channel, Frame } from '../transport/transport.ts';
import { ClusterHead, type HeartbeatReport, type NodeRegistration } from './cluster-head.ts';
import type { ClusterSecurity } from './grpc/cluster-security.ts';
import { formatGrpcAddress, parseGrpcAddress } from './grpc/grpc-address.ts';
import { resolveGrpcOptions, type GrpcTransportOptions } from './grpc/grpc-options.ts';
import { GrpcServer } from './grpc/grpc-server.ts';
import { SqliteControlStore } from './sqlite-control-store.ts';
import { EtcdControlStore } from './etcd-control-store.ts';
import { HeadElection, type HeadEtcdOptions } from './etcd-head-election.ts';
import { NodeLeaseWatch, type NodeLivenessSettings } from './etcd-node-liveness.ts';

export interface HeadServiceOptions {
  /** Address to listen on (default 127.0.0.1; any other address needs a token). */
  host: string;
  /** Port (default 6380; 0 picks one). */
  port: number;
  /** SQLite file of the control store; a head started again on the same file recovers the cluster. */
  statePath: string;
  /**
   * Keep the control store in etcd instead (`statePath` is then unused): this head stands for election and serves
   * only once it leads; a standby started the same way takes over when the leader's lease expires.
   */
  etcd?: HeadEtcdOptions;
  /** This head was deposed (its etcd lease was lost): it has stopped serving. The CLI exits. */
  onDeposed?(reason: string): void;
  security: ClusterSecurity;
  logger: Logger;
  /** Node agents heartbeat this often (default 1000 ms). */
  heartbeatMs?: number;
  /** A node silent this long is declared dead (default 10 s). */
  nodeTimeoutMs?: number;
  /** A driver disconnected this long is gone with its actors (default 30 s). */
  driverTimeoutMs?: number;
  /** Directories whose modules may become actors (default: the project of the working directory, and posttrain). */
  actorModuleRoots?: string[];
  /** gRPC tuning (keepalive, message size). */
  grpc?: Omit<GrpcTransportOptions, 'security' | 'logger'>;
}

/** Routes only the head itself may answer for a node agent (the agent serves these to its workers). */
const AGENT_LOCAL_ROUTES = new Set(['reserve', 'locate', 'workerSpec', 'workerReady', 'workerFailed', 'register', 'heartbeat']);
/** Routes whose answer does not depend on who asks: an agent may ask them in its own name. */
const CALLER_FREE_ROUTES = new Set(['getActor', 'resolveActor', 'killActor', 'waitPlacementGroup', 'removePlacementGroup', 'nodes', 'objectStoreUsage', 'putKey', 'getKey', 'listActors', 'listPlacementGroups']);
const NODE_ID = /^[A-Za-z0-9_.-]{1,100}$/;
/** Largest frame the head accepts: actor constructor arguments pass through it, weights and experience never do. */
const HEAD_MAX_FRAME_BYTES = 64 * 2 ** 20;
const DRIVER_ID = /^driver-[0-9a-f]{8,32}$/;

interface Peer {
  role?: 'driver' | 'node';
  id?: string;
}

/**
 * The head process of a cluster (`recipe cluster start --head`): a `ClusterHead` over a SQLite control store (or,
 * with `etcd`, one in etcd, with standby heads taking over by election), served over gRPC. Each peer opens one
 * channel and introduces itself: a driver with a `hello` notification, a node agent with a `register` request.
 * Drivers call the control plane in their own name; node agents heartbeat, report their workers, and forward their
 * workers' requests (the head checks that the worker named is theirs).
 *
 * @example
 * const service = await HeadService.start({ host: '10.0.0.1', port: 6380, statePath: '/var/lib/posttrain/head.sqlite', security, logger });
 * // ... later
 * await service.stop();
 */
export class HeadService {
  private stopping: Promise<void> | undefined;
  private constructor(
    readonly head: ClusterHead,
    private readonly server: GrpcServer,
    private readonly store: SqliteControlStore | EtcdControlStore,
    private readonly election: HeadElection | undefined,
    private readonly leaseWatch: NodeLeaseWatch | undefined,
  ) {}

  get address(): string {
    return this.server.address;
  }

  static async start(options: HeadServiceOptions): Promise<HeadService> {
    const logger = options.logger.child({ component: 'head' });
    let service: HeadService | undefined;
    let deposed: string | undefined;
    const depose = (reason: string) => {
      if (deposed !== undefined) return;
      deposed = reason;
      logger.error({ reason }, `this head no longer leads the cluster (${reason}); it stops serving`);
      void service?.stop().finally(() => options.onDeposed?.(reason));
    };
    // etcd: wait to be elected (a standby waits here, serving nothing), then load the state the last leader left.
    const election = options.etcd ? await HeadElection.campaign(options.etcd, formatGrpcAddress(options.host, options.port), logger) : undefined;
    const store = election
      ? await EtcdControlStore.open({ client: election.client, prefix: election.prefix, fenceKey: election.key, logger, onFenced: (reason) => election.lose(reason) }).catch(async (error: unknown) => {
          await election.resign();
          throw error;
        })
      : new SqliteControlStore(options.statePath);
    election?.onLost(depose);
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 10_000;
    const liveness: NodeLivenessSettings | undefined = election && options.etcd
      ? { endpoints: options.etcd.endpoints, prefix: `${election.prefix}node-leases/`, ttlSeconds: Math.max(2, Math.ceil(nodeTimeoutMs / 1_000)) }
      : undefined;
    const head = new ClusterHead({
      store,
      allowList: options.actorModuleRoots ? new ModuleAllowList(options.actorModuleRoots) : ModuleAllowList.defaults(),
      logger,
      heartbeatMs: options.heartbeatMs ?? 1_000,
      nodeTimeoutMs,
      ...(liveness ? { liveness } : {}),
      driverTimeoutMs: options.driverTimeoutMs ?? 30_000,
      reaperIntervalMs: 1_000,
    });
    head.recover();
    let leaseWatch: NodeLeaseWatch | undefined;
    // Control messages are small: a peer declaring a huge frame is cut off at once instead of being buffered.
    const grpcOptions = resolveGrpcOptions({ maxFrameBytes: HEAD_MAX_FRAME_BYTES, ...options.grpc, security: options.security, logger });
    let server: GrpcServer;
    try {
      if (election && liveness) leaseWatch = await NodeLeaseWatch.takeOver(election.client, liveness, head);
      server = await GrpcServer.start({ host: options.host, port: options.port }, grpcOptions, { onChannel: (channel) => service?.serve(channel) }, 'the head');
    } catch (error) {
      leaseWatch?.close();
      await head.stop();
      await store.close();
      await election?.resign();
      throw error;
    }
    service = new HeadService(head, server, store, election, leaseWatch);
    if (deposed !== undefined) {
      const reason = deposed;
      void service.stop().finally(() => options.onDeposed?.(reason));
    }
    logger.info({ address: server.address, state: election ? `etcd ${election.prefix}` : options.statePath, token: options.security.token !== undefined, tls: options.security.tls !== undefined }, `head listening on ${server.address}`);
    return service;
  }

  /**
   * Stop serving; the nodes keep their workers, and a head started on the same state file (or, with etcd, the next
   * head elected: this one resigns) takes them back.
   */
  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.server.close();
      this.leaseWatch?.close();
      await this.head.stop();
      await this.store.close();
      await this.election?.resign();
    })();
    return this.stopping;
  }

  private serve(channel: Channel): void {
    const peer: Peer = {};
    new RpcConnection(channel, {
      onRequest: (frame, respond, rpc) => respondWith(respond, this.durable(this.request(peer, rpc, frame))),
      onNotify: (frame, rpc) => this.notify(peer, rpc, frame),
      onClose: (rpc) => {
        if (peer.role === 'driver') this.head.driverDisconnected(peer.id as string, rpc);
        if (peer.role === 'node') this.head.nodeDisconnected(peer.id as string, rpc);
      },
    });
  }

  /**
   * A request's answer goes out once what it wrote is in the store: SQLite writes synchronously, etcd's store sends
   * its writes behind (`EtcdControlStore.flushed`), so a standby never recovers less than this head acknowledged.
   */
  private async durable<T>(answer: Promise<T>): Promise<T> {
    try {
      return await answer;
    } finally {
      if (this.store instanceof EtcdControlStore) await this.store.flushed();
    }
  }

  private async request(peer: Peer, rpc: RpcConnection, frame: Frame): Promise<unknown> {
    const args = frameArguments(frame);
    if (frame.route === 'register') {
      const registration = args[0] as NodeRegistration;
      if (typeof registration?.nodeId !== 'string' || !NODE_ID.test(registration.nodeId)) throw new PosttrainError('REGISTRATION_INVALID', 'a node id is 1-100 letters, digits, _ . -', { path: 'nodeId' });
      parseGrpcAddress(registration.address, 'address');
      const reply = this.head.registerNode(rpc, { ...registration, workers: Array.isArray(registration.workers) ? registration.workers : [] });
      peer.role = 'node';
      peer.id = registration.nodeId;
      return reply;
    }
    if (peer.role === 'node') {
      const nodeId = peer.id as string;
      if (frame.route === 'heartbeat') return this.head.heartbeat({ ...(args[0] as HeartbeatReport), nodeId });
      if (AGENT_LOCAL_ROUTES.has(frame.route)) throw new PosttrainError('ROUTE_NOT_ALLOWED', `a node agent answers '${frame.route}' itself`);
      const [caller, ...rest] = args as [string, ...unknown[]];
      if (frame.route === 'homeStatus') return this.head.homeLostReason(String(rest[0])) ?? null;
      if (caller === `node:${nodeId}` && CALLER_FREE_ROUTES.has(frame.route)) return serveControlRequest(this.head, caller, frame.route, rest);
      this.head.checkWorkerOf(nodeId, caller);
      return serveControlRequest(this.head, caller, frame.route, rest);
    }
    if (peer.role === 'driver') {
      if (frame.route === 'goodbye') return this.head.driverGoodbye(peer.id as string);
      if (frame.route === 'homeStatus') return this.head.homeLostReason(String(args[0])) ?? null;
      if (AGENT_LOCAL_ROUTES.has(frame.route)) throw new PosttrainError('ROUTE_NOT_ALLOWED', `'${frame.route}' is for node agents and workers, not drivers`);
      return serveControlRequest(this.head, peer.id as string, frame.route, args);
    }
    throw new PosttrainError('HELLO_REQUIRED', `'${frame.route}' before hello: a driver says hello and a node agent registers first`);
  }

  private notify(peer: Peer, rpc: RpcConnection, frame: Frame): void {
    let args: unknown[];
    try {
      args = JSON.parse(frame.body) as unknown[];
      if (!Array.isArray(args)) throw new Error('arguments are not a list');
    } catch (error) {
      this.head.logger.warn({ route: frame.route, err: (error as Error).message }, 'ignored a malformed notification');
      return;
    }
    if (frame.route === 'hello') {
      const hello = args[0] as { role?: unknown; clientId?: unknown; home?: unknown };
      if (hello?.role !== 'driver' || typeof hello.clientId !== 'string' || !DRIVER_ID.test(hello.clientId) || typeof hello.home !== 'string') {
        this.head.logger.warn({ hello }, 'ignored a malformed hello');
        return;
      }
      peer.role = 'driver';
      peer.id = hello.clientId;
      this.head.driverHello(rpc, hello.clientId, hello.home);
      return;
    }
    if (peer.role === 'node') this.head.nodeNotification(peer.id as string, frame.route, args);
    else if (peer.role === 'driver' && frame.route === 'touchActor') this.head.touchActor(String(args[0]));
  }
}
