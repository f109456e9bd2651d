import type { Logger } from 'pino';
import { errorFromData, type ErrorData } from '../runtime-errors.ts';
import { RpcConnection, type Responder } from '../transport/rpc.ts';
import { FrameKind, type Frame } from '../transport/transport.ts';
import { decodeValue, encodeValue, viewBuffer } from '../value-codec.ts';
import { ConfigError } from '../errors.ts';
import { GrpcCallError, HeadUnavailableError } from './cluster-errors.ts';
import { formatGrpcAddress, parseGrpcAddress } from './grpc/grpc-address.ts';
import type { GrpcTransport } from './grpc/grpc-transport.ts';

export { HeadUnavailableError };

export interface HeadLinkOptions {
  transport: GrpcTransport;
  /**
   * `grpc:host:port` of the head, or of every head that may lead, comma-separated (a leader and its standbys, see
   * `etcd-head-election.ts`): the link tries them in turn until one answers, and moves on when it drops.
   */
  address: string;
  logger: Logger;
  /** Runs on every (re)connection before anything else is sent: say who we are, register. */
  onConnect(rpc: RpcConnection): Promise<void>;
  /** Requests the head sends us (a node agent's `startWorker`, `killWorker`). */
  onRequest?(frame: Frame, respond: Responder): void;
  /** How long requests wait for a connection before failing (default: forever, for node agents). */
  requestTimeoutMs?: number;
}

/** Reconnection backoff doubles from 100 ms up to this, each wait drawn within +-RECONNECT_JITTER of it. */
const RECONNECT_MAX_DELAY_MS = 2_000;
/**
 * With several heads a standby takes over as soon as the leader's lease expires: attempts stay this frequent so
 * that the link finds it within half a second (one refused TCP connect per head and attempt costs next to nothing).
 */
const RECONNECT_MAX_DELAY_WITH_STANDBYS_MS = 500;
const RECONNECT_JITTER = 0.25;
/**
 * The longest a disconnected link waits before its next attempt: a head that restarts gives the nodes it recovers
 * this long on top of the node timeout, or a node whose backoff had grown while the head was down is declared
 * dead before it could even try.
 */
export const RECONNECT_LONGEST_WAIT_MS = RECONNECT_MAX_DELAY_MS * (1 + RECONNECT_JITTER);

/**
 * Requests that can be sent again after a reconnection without doing anything twice. Creating an actor or a
 * placement group is not one of them: if the head went away while creating one, the caller is told so.
 */
const REPEATABLE = new Set(['getActor', 'resolveActor', 'killActor', 'waitPlacementGroup', 'removePlacementGroup', 'nodes', 'objectStoreUsage', 'getKey', 'putKey', 'goodbye', 'homeStatus', 'listActors', 'listPlacementGroups']);

interface PendingRequest {
  route: string;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * A node agent's or driver's connection to the head, kept up for as long as the process runs: when it drops (the
 * head restarted, the network hiccupped) it is re-established with exponential backoff, `onConnect` runs again
 * (hello / register), and repeatable requests that were in flight are sent again. Requests made while it is down
 * wait for it. Notifications made while it is down are kept (bounded) and sent after the next `onConnect`.
 *
 * @example
 * const link = new HeadLink({ transport, address: 'grpc:10.0.0.1:6380', logger, onConnect: (rpc) => register(rpc) });
 * await link.start();
 * const nodes = await link.request<NodeInfo[]>('nodes', []);
 */
export class HeadLink {
  private rpc: RpcConnection | undefined;
  private readonly waiting: PendingRequest[] = [];
  private readonly inFlight = new Set<PendingRequest>();
  private notifications: [string, unknown[]][] = [];
  private closed = false;
  private connecting: Promise<void> | undefined;
  private delay = 100;
  private readonly addresses: string[];
  /** Which of `addresses` the link uses now (or tries next). */
  private current = 0;

  constructor(private readonly options: HeadLinkOptions) {
    this.addresses = parseHeadAddresses(options.address, 'address');
  }

  /** The head this link talks to now (with several heads, the last one that answered or is being tried). */
  get address(): string {
    return this.addresses[this.current] as string;
  }

  /**
   * The first connection; its failure (a wrong token, nothing listening) is the caller's to report. With several
   * heads, each is tried once per round (standbys do not listen) until one answers or the transport's connect
   * timeout has passed; an answer that is not "unavailable" (a wrong token) fails at once.
   */
  async start(): Promise<void> {
    if (this.addresses.length === 1) {
      await this.connect();
      return;
    }
    const deadline = Date.now() + this.options.transport.options.connectTimeoutMs;
    for (;;) {
      try {
        await this.connect();
        return;
      } catch (error) {
        const unavailable = error instanceof GrpcCallError && (error.code === 'GRPC_UNAVAILABLE' || error.code === 'GRPC_DEADLINE_EXCEEDED');
        if (!unavailable || Date.now() > deadline) throw error;
        this.current = (this.current + 1) % this.addresses.length;
        if (this.current === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  get connected(): boolean {
    return this.rpc !== undefined && !this.rpc.isClosed;
  }

  request<T>(route: string, args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new HeadUnavailableError(`cannot send '${route}': the link to the head is closed`));
    return new Promise<T>((resolve, reject) => {
      const pending: PendingRequest = { route, args, resolve: resolve as (value: unknown) => void, reject };
      if (this.connected) this.send(pending);
      else this.wait(pending);
    });
  }

  /**
   * Queue a request until the link is up again. Only this wait is bounded (`requestTimeoutMs`): once sent, a request
   * may legitimately take long (waiting for a placement group, for an actor to start).
   */
  private wait(pending: PendingRequest): void {
    this.waiting.push(pending);
    const timeoutMs = this.options.requestTimeoutMs;
    if (timeoutMs === undefined || pending.timer) return;
    pending.timer = setTimeout(() => {
      const index = this.waiting.indexOf(pending);
      if (index < 0) return;
      this.waiting.splice(index, 1);
      pending.reject(new HeadUnavailableError(`the head at ${this.address} could not be reached for '${pending.route}' within ${timeoutMs} ms (it is down or unreachable)`));
    }, timeoutMs);
  }

  notify(route: string, args: unknown[]): void {
    if (this.closed) return;
    if (this.connected) (this.rpc as RpcConnection).notify(route, JSON.stringify(args));
    else if (this.notifications.length < 10_000) this.notifications.push([route, args]);
  }

  close(): void {
    this.closed = true;
    this.rpc?.close();
    for (const pending of [...this.waiting, ...this.inFlight]) {
      if (pending.timer) clearTimeout(pending.timer);
      pending.reject(new HeadUnavailableError(`'${pending.route}' was cancelled: the link to the head closed`));
    }
    this.waiting.length = 0;
    this.inFlight.clear();
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const channel = await this.options.transport.connect(this.address, 'head', { once: this.addresses.length > 1 });
      const rpc = new RpcConnection(channel, {
        onRequest: (frame, respond) => {
          if (this.options.onRequest) this.options.onRequest(frame, respond);
          else respond.error(JSON.stringify({ name: 'Error', message: `no handler for '${frame.route}'` }));
        },
        onClose: () => this.lost(rpc),
      });
      try {
        await this.options.onConnect(rpc);
      } catch (error) {
        rpc.close();
        throw error;
      }
      if (this.closed) {
        rpc.close();
        return;
      }
      this.rpc = rpc;
      this.delay = 100;
      const notifications = this.notifications;
      this.notifications = [];
      for (const [route, args] of notifications) rpc.notify(route, JSON.stringify(args));
      for (const pending of this.waiting.splice(0)) this.send(pending);
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private send(pending: PendingRequest): void {
    if (pending.timer) clearTimeout(pending.timer);
    pending.timer = undefined;
    const rpc = this.rpc as RpcConnection;
    const encoded = encodeValue(pending.args);
    this.inFlight.add(pending);
    rpc.request(pending.route, encoded.json, encoded.buffers).then(
      (frame) => {
        if (!this.inFlight.delete(pending)) return;
        if (frame.kind === FrameKind.Error) pending.reject(errorFromData(JSON.parse(frame.body) as ErrorData));
        else pending.resolve(decodeValue(frame.body, (index, kind) => viewBuffer(frame.buffers[index] as Uint8Array, kind)));
      },
      () => {
        // The channel closed: `lost` decides whether this request is sent again.
      },
    );
  }

  private lost(rpc: RpcConnection): void {
    if (this.rpc !== rpc && this.rpc !== undefined) return;
    this.rpc = undefined;
    for (const pending of [...this.inFlight]) {
      this.inFlight.delete(pending);
      if (REPEATABLE.has(pending.route)) {
        this.wait(pending);
      } else {
        if (pending.timer) clearTimeout(pending.timer);
        pending.reject(new HeadUnavailableError(`the head at ${this.address} went away during '${pending.route}'; it may or may not have been done (check, then retry)`));
      }
    }
    if (this.closed) return;
    this.options.logger.warn({ head: this.address }, 'lost the connection to the head; reconnecting');
    this.reconnectSoon();
  }

  private reconnectSoon(): void {
    const delay = this.delay * (1 - RECONNECT_JITTER + Math.random() * 2 * RECONNECT_JITTER);
    this.delay = Math.min(this.delay * 2, this.addresses.length > 1 ? RECONNECT_MAX_DELAY_WITH_STANDBYS_MS : RECONNECT_MAX_DELAY_MS);
    setTimeout(() => {
      if (this.closed || this.connected) return;
      this.connect().then(
        () => this.options.logger.info({ head: this.address }, 'reconnected to the head'),
        (error: Error) => {
          const level = error instanceof GrpcCallError && error.code === 'GRPC_UNAUTHENTICATED' ? 'error' : 'warn';
          this.options.logger[level]({ head: this.address, err: error.message }, `could not reconnect to the head: ${error.message}`);
          // Several heads: the next attempt goes to the next one (the leader may have moved).
          this.current = (this.current + 1) % this.addresses.length;
          this.reconnectSoon();
        },
      );
    }, delay).unref();
  }
}

/**
 * A head address, or several comma-separated (a leader and its standbys), as `grpc:host:port` each.
 *
 * @example
 * parseHeadAddresses('10.0.0.1:6380,10.0.0.2:6380'); // ['grpc:10.0.0.1:6380', 'grpc:10.0.0.2:6380']
 */
export function parseHeadAddresses(list: string, path = 'address'): string[] {
  const addresses = list.split(',').map((part) => part.trim());
  if (addresses.some((address) => address === '')) throw new ConfigError([{ path, message: `'${list}' has an empty head address; give host:port, or several separated by commas` }]);
  return addresses.map((address) => {
    const parsed = parseGrpcAddress(address, path);
    return formatGrpcAddress(parsed.host, parsed.port);
  });
}
