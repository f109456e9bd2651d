import type { Logger } from 'pino';
import { PosttrainError } from '../errors.ts';
import { ModuleAllowList } from '../module-allow-list.ts';
import { frameArguments, respondWith, serveControlRequest } from '../head/head-server.ts';
import { RpcConnection } from '../transport/rpc.ts';
import type { Channel, Frame } from '../transport/transport.ts';
import { ClusterHead, type HeartbeatReport, type NodeRegistration } from './cluster-head.ts';
import type { ClusterSecurity } from './grpc/cluster-security.ts';
import { parseGrpcAddress } from './grpc/grpc-address.ts';
import { resolveGrpcOptions, type GrpcTransportOptions } from './grpc/grpc-options.ts';
import { GrpcServer } from './grpc/grpc-server.ts';
import { SqliteControlStore } from './sqlite-control-store.ts';

export interface HeadServiceOptions {
  /** Address to listen on (default 127.0.0.1; any other address needs a token). */
  host: string;
  /** Port (default 6380; 0 picks one). */
  port: number;
  /** SQLite file of the control store; a head started again on the same file recovers the cluster. */
  statePath: string;
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
 * The head process of a cluster (`recipe cluster start --head`): a `ClusterHead` over a SQLite control store,
 * served over gRPC. Each peer opens one channel and introduces itself: a driver with a `hello` notification, a node
 * agent with a `register` request. Drivers call the control plane in their own name; node agents heartbeat,
 * report their workers, and forward their workers' requests (the head checks that the worker named is theirs).
 *
 * @example
 * const service = await HeadService.start({ host: '10.0.0.1', port: 6380, statePath: '/var/lib/posttrain/head.sqlite', security, logger });
 * // ... later
 * await service.stop();
 */
export class HeadService {
  private constructor(
    readonly head: ClusterHead,
    private readonly server: GrpcServer,
    private readonly store: SqliteControlStore,
  ) {}

  get address(): string {
    return this.server.address;
  }

  static async start(options: HeadServiceOptions): Promise<HeadService> {
    const logger = options.logger.child({ component: 'head' });
    const store = new SqliteControlStore(options.statePath);
    const head = new ClusterHead({
      store,
      allowList: options.actorModuleRoots ? new ModuleAllowList(options.actorModuleRoots) : ModuleAllowList.defaults(),
      logger,
      heartbeatMs: options.heartbeatMs ?? 1_000,
      nodeTimeoutMs: options.nodeTimeoutMs ?? 10_000,
      driverTimeoutMs: options.driverTimeoutMs ?? 30_000,
      reaperIntervalMs: 1_000,
    });
    head.recover();
    let service: HeadService | undefined;
    // Control messages are small: a peer declaring a huge frame is cut off at once instead of being buffered.
    const grpcOptions = resolveGrpcOptions({ maxFrameBytes: HEAD_MAX_FRAME_BYTES, ...options.grpc, security: options.security, logger });
    let server: GrpcServer;
    try {
      server = await GrpcServer.start({ host: options.host, port: options.port }, grpcOptions, { onChannel: (channel) => service?.serve(channel) }, 'the head');
    } catch (error) {
      await head.stop();
      store.close();
      throw error;
    }
    service = new HeadService(head, server, store);
    logger.info({ address: server.address, state: options.statePath, token: options.security.token !== undefined, tls: options.security.tls !== undefined }, `head listening on ${server.address}`);
    return service;
  }

  /** Stop serving; the nodes keep their workers, and a head started on the same state file takes them back. */
  async stop(): Promise<void> {
    await this.server.close();
    await this.head.stop();
    this.store.close();
  }

  private serve(channel: Channel): void {
    const peer: Peer = {};
    new RpcConnection(channel, {
      onRequest: (frame, respond, rpc) => respondWith(respond, this.request(peer, rpc, frame)),
      onNotify: (frame, rpc) => this.notify(peer, rpc, frame),
      onClose: (rpc) => {
        if (peer.role === 'driver') this.head.driverDisconnected(peer.id as string, rpc);
        if (peer.role === 'node') this.head.nodeDisconnected(peer.id as string, rpc);
      },
    });
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
