import net from 'node:net';
import { rootLogger } from '../../logging.ts';
import { CollectiveError, CollectiveTimeoutError, collectiveErrorFromData } from '../errors.ts';
import { connect, describeEndpoint, isRetryableConnectError, listen, type Endpoint } from './endpoint.ts';
import { FramedConnection, type ConnectionHandlers } from './framed-connection.ts';
import type { FrameHeader } from './frames.ts';
import { secretsMatch, withDeadline, type PeerInfo } from './rendezvous.ts';

/**
 * Every rank holds one connection to every other rank (a full mesh), authenticated with the unique id's secret.
 *
 * Why a full mesh and not only ring neighbours: a rank must learn at once that *any* member died (its connection
 * closes) and must know which ranks have arrived at an operation, so that a failure or a timeout can name the rank
 * at fault. Control messages are tiny; bulk data flows only where the backend sends it (ring neighbours for `tcp`,
 * nowhere for `shm`, whose data goes through /dev/shm).
 *
 * Control messages:
 * - `phase { sequence, name, ... }`: "I reached `name` of operation `sequence`" (e.g. `arrive` with the operation's
 *   signature, `ready`, `reduced`, `done`); a rank waits for a phase from all peers;
 * - `abort { error }`: "I failed; here is why" (the peer fails with the same code and ranks);
 * - `bye { completed }`: "I destroyed my communicator after finishing operation `completed`".
 */

/** Accepts peers' connections for one rank; started before rendezvous so its endpoint can be announced. */
export class MeshListener {
  private readonly accepted = new Map<number, FramedConnection>();
  /** Ring data links dialled by this rank's successor (used here for sending to it). */
  private readonly dataLinks = new Map<number, FramedConnection>();
  private onChange: (() => void) | undefined;

  private constructor(
    private readonly server: net.Server,
    readonly endpoint: Endpoint,
    private readonly cleanup: () => void,
  ) {}

  static async start(options: {
    endpoint: Endpoint | { host: string; port: 0 };
    secret: string;
    nonce: string;
    rank: number;
    cleanup?: () => void;
  }): Promise<MeshListener> {
    const log = rootLogger().child({ component: 'collectives', rank: options.rank });
    const server = net.createServer();
    const endpoint = await listen(server, options.endpoint);
    const listener = new MeshListener(server, endpoint, options.cleanup ?? (() => {}));
    server.on('connection', (socket) => {
      const connection = new FramedConnection(socket);
      const peer = `${socket.remoteAddress ?? 'unix'}:${socket.remotePort ?? ''}`;
      const helloTimer = setTimeout(() => connection.destroy(), 30_000);
      connection.attach({
        control: (message) => {
          clearTimeout(helloTimer);
          const rank = message.rank;
          if (message.type !== 'hello' || !secretsMatch(options.secret, message.secret) || message.nonce !== options.nonce) {
            log.warn({ peer }, 'collective connection refused: wrong secret or communicator id');
            connection.destroy();
            return;
          }
          const isDataLink = message.link === 'data';
          const taken = isDataLink ? listener.dataLinks : listener.accepted;
          if (typeof rank !== 'number' || rank === options.rank || (!isDataLink && rank < options.rank) || taken.has(rank)) {
            log.warn({ peer, claimedRank: rank }, 'collective connection refused: unexpected rank');
            connection.destroy();
            return;
          }
          connection.detach();
          connection.send({ type: 'welcome', rank: options.rank, nonce: options.nonce });
          taken.set(rank, connection);
          listener.onChange?.();
        },
        closed: () => clearTimeout(helloTimer),
      });
    });
    return listener;
  }

  /**
   * Resolves once every rank above `rank` has connected (and, with `dataLinkFrom`, that rank's data link); rejects at
   * the deadline naming who did not.
   */
  waitForPeers(options: { rank: number; worldSize: number; dataLinkFrom: number | undefined; deadline: number; timeoutMs: number }): Promise<{
    control: Map<number, FramedConnection>;
    dataLink: FramedConnection | undefined;
  }> {
    const { rank, worldSize, dataLinkFrom } = options;
    const expected = Array.from({ length: worldSize - rank - 1 }, (_, index) => rank + 1 + index);
    const missing = (): number[] => {
      const ranks = expected.filter((peer) => !this.accepted.has(peer));
      if (dataLinkFrom !== undefined && !this.dataLinks.has(dataLinkFrom) && !ranks.includes(dataLinkFrom)) ranks.push(dataLinkFrom);
      return ranks.sort((a, b) => a - b);
    };
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (missing().length > 0) return;
        clearTimeout(timer);
        this.onChange = undefined;
        resolve({ control: this.accepted, dataLink: dataLinkFrom === undefined ? undefined : this.dataLinks.get(dataLinkFrom) });
      };
      const timer = setTimeout(() => {
        const late = missing();
        reject(
          new CollectiveTimeoutError(
            `forming the group timed out after ${options.timeoutMs} ms on rank ${rank}: rank${late.length === 1 ? '' : 's'} ` +
              `${late.join(', ')} did not connect to ${describeEndpoint(this.endpoint)} (a firewall, a wrong host option, or a dead process)`,
            { ranks: late, operation: 'init' },
          ),
        );
      }, Math.max(0, options.deadline - Date.now()));
      this.onChange = check;
      check();
    });
  }

  /** Stop accepting; connections already accepted stay open. */
  close(): void {
    this.server.close();
    this.cleanup();
  }

  /** Close everything (when forming the group failed). */
  abandon(): void {
    for (const connection of [...this.accepted.values(), ...this.dataLinks.values()]) connection.destroy();
    this.close();
  }
}

/** Connect to a lower rank and authenticate; retries while its listener is not reachable yet. */
async function connectToPeer(options: {
  peer: PeerInfo;
  rank: number;
  secret: string;
  nonce: string;
  deadline: number;
  /** `data`: the ring data link, read without copies (see FramedConnection.dialPulling). */
  link?: 'data';
}): Promise<FramedConnection> {
  let connection: FramedConnection | undefined;
  while (connection === undefined) {
    try {
      const dialling = options.link === 'data' ? FramedConnection.dialPulling(options.peer.endpoint) : connect(options.peer.endpoint).then((socket) => new FramedConnection(socket));
      connection = await withDeadline(dialling, options.deadline, (pending) => pending.then((late) => late.destroy(), () => {}));
    } catch (error) {
      if (!isRetryableConnectError(error) || Date.now() + 50 >= options.deadline) {
        throw new CollectiveError(
          'COLLECTIVE_RENDEZVOUS_FAILED',
          `rank ${options.rank} could not connect to rank ${options.peer.rank} at ${describeEndpoint(options.peer.endpoint)} ` +
            `(host ${options.peer.hostname}, pid ${options.peer.pid}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          { ranks: [options.peer.rank], operation: 'init', cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const welcomed = new Promise<void>((resolve, reject) => {
    connection.attach({
      control: (message) => {
        if (message.type === 'welcome' && message.rank === options.peer.rank && message.nonce === options.nonce) {
          connection.detach();
          resolve();
        }
      },
      closed: () =>
        reject(
          new CollectiveError('COLLECTIVE_RENDEZVOUS_FAILED', `rank ${options.peer.rank} refused the connection from rank ${options.rank}`, {
            ranks: [options.peer.rank],
            operation: 'init',
          }),
        ),
    });
  });
  connection.send({ type: 'hello', secret: options.secret, nonce: options.nonce, rank: options.rank, ...(options.link ? { link: options.link } : {}) });
  try {
    await withDeadline(welcomed, options.deadline, () => connection.destroy());
  } catch (error) {
    connection.destroy();
    if (error instanceof CollectiveError) throw error;
    throw new CollectiveTimeoutError(`rank ${options.peer.rank} did not answer rank ${options.rank}'s hello before the deadline`, {
      ranks: [options.peer.rank],
      operation: 'init',
    });
  }
  return connection;
}

/** What the mesh tells the backend about data frames from one peer. */
export type DataHandlers = Required<Pick<ConnectionHandlers, 'destination' | 'data'>>;

/** The operation running on this rank, for naming it in failures. */
export interface RunningOperation {
  sequence: number;
  name: string;
}

export class PeerMesh {
  /** Set once the group is broken; every later operation fails with it. */
  failure: CollectiveError | undefined;
  /** Rejects with the failure as soon as there is one. */
  readonly failed: Promise<never>;
  /** The operation in flight on this rank, if any. */
  current: RunningOperation | undefined;
  /** Sequence number of the last operation this rank completed. */
  lastCompleted = 0;

  private rejectFailed!: (error: CollectiveError) => void;
  private readonly phases = new Map<string, Map<number, Record<string, unknown>>>();
  private readonly waiters = new Map<string, () => void>();
  private fullyArrived = 0;
  private deferredFailure: CollectiveError | undefined;
  private closing = false;
  private readonly dataHandlers = new Map<number, DataHandlers>();

  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    readonly peers: PeerInfo[],
    private readonly connections: Map<number, FramedConnection>,
    /** Ring data links: `previous` (dialled here, read without copies) and `next` (dialled by the successor, sent on). */
    private readonly ring: { previous: FramedConnection; next: FramedConnection } | undefined,
  ) {
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => {});
    for (const [peer, connection] of connections) {
      connection.attach({
        control: (message) => this.onControl(peer, message),
        destination: (header) => this.handlersFor(peer).destination(header),
        data: (header, payload) => this.handlersFor(peer).data(header, payload),
        closed: (error) => this.onClosed(peer, error),
      });
    }
    if (ring) {
      const previous = (rank - 1 + worldSize) % worldSize;
      const next = (rank + 1) % worldSize;
      // A data link that closes in order says nothing the control connection will not say first-hand (a peer that
      // leaves sends `bye` there; one that dies closes it too), and it may close before that `bye` is read.
      // Only bytes that break the protocol fail the group from here.
      const onDataLinkClosed = (peer: number, error: Error | undefined): void => {
        if (error instanceof CollectiveError) this.onClosed(peer, error);
      };
      ring.previous.attach({
        control: () => {},
        destination: (header) => this.handlersFor(previous).destination(header),
        data: (header, payload) => this.handlersFor(previous).data(header, payload),
        closed: (error) => onDataLinkClosed(previous, error),
      });
      ring.next.attach({ control: () => {}, closed: (error) => onDataLinkClosed(next, error) });
    }
  }

  /**
   * Connect to every peer in `table` (lower ranks dial, higher ranks are accepted by `listener`). With `ring`, each
   * rank also dials its predecessor for a data link that only carries the predecessor's data to it.
   */
  static async establish(options: {
    rank: number;
    worldSize: number;
    secret: string;
    nonce: string;
    listener: MeshListener;
    table: PeerInfo[];
    deadline: number;
    timeoutMs: number;
    ring: boolean;
  }): Promise<PeerMesh> {
    const { rank, table, worldSize } = options;
    const withRing = options.ring && worldSize > 1;
    const dialled: FramedConnection[] = [];
    const dial = async (peer: PeerInfo, link?: 'data'): Promise<FramedConnection> => {
      const connection = await connectToPeer({ ...options, peer, ...(link ? { link } : {}) });
      dialled.push(connection);
      return connection;
    };
    try {
      const [lower, previousLink] = await Promise.all([
        Promise.all(table.filter((peer) => peer.rank < rank).map(async (peer) => [peer.rank, await dial(peer)] as const)),
        withRing ? dial(table[(rank - 1 + worldSize) % worldSize] as PeerInfo, 'data') : undefined,
      ]);
      const accepted = await options.listener.waitForPeers({ ...options, dataLinkFrom: withRing ? (rank + 1) % worldSize : undefined });
      options.listener.close();
      const ring = previousLink && accepted.dataLink ? { previous: previousLink, next: accepted.dataLink } : undefined;
      return new PeerMesh(rank, worldSize, table, new Map([...lower, ...accepted.control]), ring);
    } catch (error) {
      for (const connection of dialled) connection.destroy();
      options.listener.abandon();
      throw error;
    }
  }

  /** `rank 2 (host node-b, pid 4242)`. */
  describePeer(peer: number): string {
    const info = this.peers[peer];
    return info ? `rank ${peer} (host ${info.hostname}, pid ${info.pid})` : `rank ${peer}`;
  }

  /** The other ranks, ascending. */
  get otherRanks(): number[] {
    return this.peers.map((peer) => peer.rank).filter((peer) => peer !== this.rank);
  }

  /** Route data frames from `peer` to the backend. */
  setDataHandlers(peer: number, handlers: DataHandlers): void {
    this.dataHandlers.set(peer, handlers);
  }

  /** Send a data frame to `peer` (see FramedConnection.sendData). */
  sendData(peer: number, header: Omit<FrameHeader, 'payloadBytes'>, payload: Uint8Array): Promise<void> {
    const connection = this.ring && peer === (this.rank + 1) % this.worldSize ? this.ring.next : this.connections.get(peer);
    return (connection as FramedConnection).sendData(header, payload);
  }

  /** Every connection, control and data. */
  private allConnections(): FramedConnection[] {
    return [...this.connections.values(), ...(this.ring ? [this.ring.previous, this.ring.next] : [])];
  }

  /** Tell every peer that this rank reached phase `name` of operation `sequence`. */
  announce(sequence: number, name: string, extra: Record<string, unknown> = {}): void {
    for (const connection of this.connections.values()) connection.send({ type: 'phase', sequence, name, ...extra });
  }

  /** Resolves with every peer's message once all peers announced phase `name` of operation `sequence`. */
  waitForPhase(sequence: number, name: string): Promise<Map<number, Record<string, unknown>>> {
    const key = `${sequence}:${name}`;
    return new Promise((resolve) => {
      const check = (): void => {
        const received = this.phases.get(key);
        if ((received?.size ?? 0) < this.worldSize - 1) return;
        this.waiters.delete(key);
        this.phases.delete(key);
        if (name === 'arrive') this.fullyArrived = Math.max(this.fullyArrived, sequence);
        resolve(received ?? new Map());
      };
      this.waiters.set(key, check);
      check();
    });
  }

  /** Peers that have not announced phase `name` of operation `sequence` yet. */
  missingFromPhase(sequence: number, name: string): number[] {
    if (name === 'arrive' && sequence <= this.fullyArrived) return [];
    const received = this.phases.get(`${sequence}:${name}`);
    return this.otherRanks.filter((peer) => !received?.has(peer));
  }

  /**
   * Throw if the group cannot run another operation: it failed, or a peer left after the last operation it completed
   * (that failure is deferred until now so that the operation the peer did finish can still finish here).
   */
  checkUsable(operation: string): void {
    if (!this.failure && this.deferredFailure) this.fail(this.deferredFailure);
    if (this.failure) {
      throw new CollectiveError(
        this.failure.code === 'COLLECTIVE_DESTROYED' ? 'COLLECTIVE_DESTROYED' : 'COLLECTIVE_ABORTED',
        `${operation} cannot run: ${this.failure.message}`,
        { ranks: this.failure.ranks, operation, cause: this.failure },
      );
    }
  }

  /**
   * Break the group: record why, wake the running operation, and tell every peer before closing, so that each of
   * them fails with this reason (the rank at fault) rather than with "rank X disconnected" about this rank.
   * `origin` is the rank that found the fault; an abort received from a peer is passed on unchanged.
   */
  fail(error: CollectiveError, origin: number = this.rank): void {
    if (this.failure) return;
    this.failure = error;
    this.rejectFailed(error);
    this.closing = true;
    const abort = {
      type: 'abort',
      origin,
      error: { code: error.code, message: this.originalMessages.get(error) ?? error.message, ranks: error.ranks, operation: error.operation },
    };
    for (const connection of this.connections.values()) connection.send(abort);
    for (const connection of this.allConnections()) connection.end();
  }

  /** The un-prefixed message of an error received from a peer, so that passing it on does not nest prefixes. */
  private readonly originalMessages = new WeakMap<CollectiveError, string>();

  /** Leave the group in order: peers learn which operation this rank completed last. */
  close(reason: CollectiveError): void {
    if (!this.failure) {
      this.failure = reason;
      this.rejectFailed(reason);
    }
    this.closing = true;
    for (const connection of this.connections.values()) connection.send({ type: 'bye', completed: this.lastCompleted });
    for (const connection of this.allConnections()) connection.end();
  }

  /** Drop every connection without a word, as a crash would (for tests of failure handling). */
  kill(): void {
    this.closing = true;
    for (const connection of this.allConnections()) connection.destroy();
  }

  private handlersFor(peer: number): DataHandlers {
    const handlers = this.dataHandlers.get(peer);
    if (!handlers) throw new CollectiveError('COLLECTIVE_PROTOCOL', `${this.describePeer(peer)} sent data nobody expects`);
    return handlers;
  }

  private operationName(): string {
    return this.current?.name ?? `idle after operation #${this.lastCompleted}`;
  }

  private onControl(peer: number, message: Record<string, unknown>): void {
    if (message.type === 'phase') {
      const key = `${String(message.sequence)}:${String(message.name)}`;
      let received = this.phases.get(key);
      if (!received) this.phases.set(key, (received = new Map()));
      received.set(peer, message);
      this.waiters.get(key)?.();
    } else if (message.type === 'abort') {
      const data = message.error as { code: string; message: string; ranks: number[]; operation: string };
      const origin = typeof message.origin === 'number' ? message.origin : peer;
      const error = collectiveErrorFromData({
        ...data,
        message: `rank ${origin} aborted the group: ${data.message}`,
        operation: this.current?.name ?? data.operation,
      });
      this.originalMessages.set(error, data.message);
      this.fail(error, origin);
    } else if (message.type === 'bye') {
      this.onBye(peer, Number(message.completed));
    }
  }

  private onBye(peer: number, completed: number): void {
    const error = new CollectiveError(
      'COLLECTIVE_PEER_LOST',
      `${this.describePeer(peer)} left the group (destroyed its communicator after operation #${completed}) ` +
        `while this rank was ${this.current ? `in ${this.current.name}` : `idle after operation #${this.lastCompleted}`}. ` +
        'Re-form the group with a new unique id.',
      { ranks: [peer], operation: this.operationName() },
    );
    this.byeReceived.add(peer);
    // Everything the peer sent for the operations it completed has already arrived (one ordered connection), so
    // only an operation it did not complete is doomed.
    if (this.current && this.current.sequence > completed) this.fail(error);
    else this.deferredFailure ??= error;
  }

  private readonly byeReceived = new Set<number>();

  private onClosed(peer: number, error: Error | undefined): void {
    if (this.closing || this.byeReceived.has(peer) || this.failure) return;
    const detail = error && error.message !== 'connection closed' ? ` (${error.message})` : '';
    this.fail(
      new CollectiveError(
        'COLLECTIVE_PEER_LOST',
        `${this.describePeer(peer)} disconnected${detail} during ${this.operationName()}: its process died or its link ` +
          'was cut. Re-form the group with a new unique id.',
        { ranks: [peer], operation: this.operationName() },
      ),
    );
  }
}
