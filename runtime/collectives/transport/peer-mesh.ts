import { CollectiveError, collectiveErrorFromData } from '../errors.ts';
import type { ConnectionHandlers, FramedConnection } from './framed-connection.ts';
import type { FrameHeader } from './frames.ts';
import { connectToPeer, type MeshListener } from './mesh-connections.ts';
import type { PeerInfo } from './rendezvous.ts';

/**
 * Every rank holds one connection to every other rank (a full mesh), authenticated with the unique id's secret.
 *
 * Why a full mesh and not only ring neighbours: a rank must learn at once that *any* member died (its connection
 * closes) and must know which ranks have arrived at an operation, so that a failure or a timeout can name the rank
 * at fault. Control messages are tiny. Bulk data never shares their connections: `tcp` adds one data link per ring
 * neighbour pair (dialled by the receiving rank so that it can read without copies), and `shm` moves data through
 * /dev/shm.
 *
 * Control messages:
 * - `phase { sequence, name, ... }`: "I reached `name` of operation `sequence`" (`arrive` with the operation's
 *   signature, then backend phases such as `reduced` and `done`); a rank waits for a phase from all peers;
 * - `abort { error }`: "I failed; here is why" (the peer fails with the same code and ranks);
 * - `bye { completed }`: "I destroyed my communicator after finishing operation `completed`".
 */

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
