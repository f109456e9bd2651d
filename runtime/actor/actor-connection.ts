import { ActorDiedError, ActorUnavailableError, CallTimeoutError, RuntimeClosedError, errorFromData, type ActorDeathCause, type ErrorData } from '../runtime-errors.ts';
import { RpcConnection } from '../transport/rpc.ts';
import { transportFor } from '../transport/transports.ts';
import { withTimeout } from '../with-timeout.ts';
import { FrameKind, type Channel, type Frame } from '../transport/transport.ts';
import type { ActorInfo, ActorResolution } from '../control/control-plane.ts';
import { decodeFromPeer, encodeForPeer, type ActorHandleData, type ProcessServices } from './call-codec.ts';

/** A request every worker answers at once, outside any concurrency group: "this process is alive and reachable". */
export const PROBE_ROUTE = '@probe';
const PROBE_TIMEOUT_MS = 5_000;

interface CallRecord {
  method: string;
  route: string;
  args: unknown[];
  retriesLeft: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  started: number;
  /** The connection this attempt went out on (a reply on an older one is ignored). */
  sentOn?: RpcConnection;
  timer?: NodeJS.Timeout;
  done: boolean;
  /** Was in flight when the link dropped; queued until it is known whether the actor died or only the link did. */
  interrupted?: boolean;
}

/**
 * This process's link to one actor: resolves the actor's current incarnation through the head, connects to its
 * worker directly (actor-to-actor calls never pass through the driver), pipelines calls, and keeps per-caller
 * order: calls are sent in the order they were made, and while the actor restarts they queue in that order.
 *
 * When the link drops, the head says what happened: calls that were in flight reject with `ActorDiedError`
 * (naming the actor, its role and the cause) unless `maxTaskRetries` allows sending them again to the restarted
 * actor; if the actor is dead for good, everything queued rejects too, and so does every later call. When only the
 * link dropped (the actor is alive), the link is opened again: calls that were in flight reject with
 * `ActorUnavailableError` (or are sent again under `maxTaskRetries`), and queued and later calls go through.
 */
export class ActorConnection {
  private state: 'idle' | 'resolving' | 'open' | 'dead' | 'closed' = 'idle';
  private info: ActorInfo | undefined;
  private rpc: RpcConnection | undefined;
  private queue: CallRecord[] = [];
  private readonly inflight = new Set<CallRecord>();
  private dead: Extract<ActorResolution, { state: 'dead' }> | undefined;

  constructor(private readonly target: ActorHandleData, private readonly services: ProcessServices) {}

  call(method: string, args: unknown[], options: { concurrencyGroup?: string; timeoutMs?: number }): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const record: CallRecord = {
        method,
        route: options.concurrencyGroup === undefined ? method : `${method}#${options.concurrencyGroup}`,
        args,
        retriesLeft: this.target.maxTaskRetries,
        resolve,
        reject,
        started: performance.now(),
        done: false,
      };
      if (options.timeoutMs !== undefined) {
        record.timer = setTimeout(() => this.settle(record, new CallTimeoutError(this.target.displayName, method, options.timeoutMs as number)), options.timeoutMs);
      }
      switch (this.state) {
        case 'open':
          this.send(record);
          return;
        case 'dead':
          this.settle(record, this.diedError(method, this.dead as Extract<ActorResolution, { state: 'dead' }>, false));
          return;
        case 'closed':
          this.settle(record, new RuntimeClosedError(`call '${method}' on '${this.target.displayName}'`));
          return;
        default:
          this.queue.push(record);
          if (this.state === 'idle') this.resolve(0);
      }
    });
  }

  close(): void {
    this.state = 'closed';
    this.rpc?.close();
    for (const record of [...this.inflight, ...this.queue]) this.settle(record, new RuntimeClosedError(`call '${record.method}' on '${this.target.displayName}'`));
    this.queue = [];
  }

  private resolve(after: number): void {
    this.state = 'resolving';
    this.services.control.resolveActor(this.target.actorId, after).then(
      (resolution) => this.resolved(resolution),
      (error: Error) => this.failAll(error),
    );
  }

  private resolved(resolution: ActorResolution): void {
    if (this.state === 'closed') return;
    if (resolution.state === 'dead') {
      this.state = 'dead';
      this.dead = resolution;
      const queued = this.queue;
      this.queue = [];
      for (const record of queued) this.settle(record, this.diedError(record.method, resolution, false));
      return;
    }
    const info = resolution.info;
    this.info = info;
    const address = this.addressOf(info);
    transportFor(address)
      .connect(address, `actor ${info.displayName}`)
      .then(
        (channel) => this.attach(this.open(channel)),
        // The worker died between the head's answer and our connect, or only the way to it is down.
        () => void this.relink(info),
      );
  }

  /** A worker on the actor's own node calls it over the local channel; everyone else over the network. */
  private addressOf(info: ActorInfo): string {
    return info.localAddress !== undefined && this.services.nodeId !== undefined && info.nodeId === this.services.nodeId ? info.localAddress : info.address;
  }

  /** A link over `channel`; when it closes while it is the current one, `lost` decides what happened. */
  private open(channel: Channel): RpcConnection {
    const rpc = new RpcConnection(channel, { onClose: () => this.lost(rpc) });
    rpc.notify('hello', JSON.stringify([this.services.clientId]));
    return rpc;
  }

  private attach(rpc: RpcConnection): void {
    if (this.state === 'closed') {
      rpc.close();
      return;
    }
    this.rpc = rpc;
    this.state = 'open';
    const queued = this.queue;
    this.queue = [];
    for (const record of queued) if (!record.done) this.send(record);
  }

  /**
   * The actor's worker cannot be reached (its link dropped, or a connect failed). Either its process died, and the
   * head will say so (dead, or restarted as a new incarnation), or only the link is down: a peer silent past the
   * keepalive (a stopped process, a method that held its event loop, a network blip). Until one of the two is
   * known, ask the head whether this incarnation is still the live one and try the same worker again, with backoff.
   * Waiting on the head alone would wait forever for a live actor.
   */
  private async relink(info: ActorInfo): Promise<void> {
    const address = this.addressOf(info);
    try {
      for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
        const current = await this.services.control.resolveActor(this.target.actorId, info.incarnation - 1);
        if (this.isClosed()) return;
        if (current.state === 'dead' || current.info.incarnation !== info.incarnation) {
          const resolution = await this.services.control.resolveActor(this.target.actorId, info.incarnation);
          this.settleInterrupted(resolution.state === 'alive', (record) => this.diedError(record.method, resolution, true));
          this.resolved(resolution);
          return;
        }
        const rpc = await this.probe(address, info);
        if (this.isClosed()) {
          rpc?.close();
          return;
        }
        if (rpc) {
          // Only the link dropped: the calls it interrupted may or may not have run.
          const interrupted = this.queue.filter((record) => record.interrupted && !record.done).length;
          this.services.logger.warn({ actor: this.target.displayName, address, interrupted }, `actor ${this.target.displayName} could not be reached for a while but stayed alive; linked to it again`);
          this.settleInterrupted(true, (record) => new ActorUnavailableError(this.target.displayName, this.target.role, record.method));
          this.attach(rpc);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.isClosed()) return;
      }
    } catch (error) {
      this.failAll(error as Error);
    }
  }

  /**
   * A new link to the worker, once the worker has answered on it; undefined when it cannot be reached or does not
   * answer. Connecting alone proves nothing: a process being killed still accepts connections for a moment.
   */
  private async probe(address: string, info: ActorInfo): Promise<RpcConnection | undefined> {
    let rpc: RpcConnection | undefined;
    try {
      rpc = this.open(await transportFor(address).connect(address, `actor ${info.displayName}`, { once: true }));
      const answer = await withTimeout(rpc.request(PROBE_ROUTE, '[]'), PROBE_TIMEOUT_MS);
      if (answer.kind !== FrameKind.Response) throw new Error('probe refused');
      return rpc;
    } catch {
      rpc?.close();
      return undefined;
    }
  }

  /** Read afresh after each await (`close()` may have run meanwhile). */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Calls a dropped link interrupted are sent again while retries are left (and `retry` allows), else rejected. */
  private settleInterrupted(retry: boolean, error: (record: CallRecord) => Error): void {
    this.queue = this.queue.filter((record) => {
      if (record.done) return false;
      if (!record.interrupted) return true;
      record.interrupted = false;
      if (retry && record.retriesLeft > 0) {
        record.retriesLeft--;
        return true;
      }
      this.settle(record, error(record));
      return false;
    });
  }

  private send(record: CallRecord): void {
    const rpc = this.rpc as RpcConnection;
    const info = this.info as ActorInfo;
    let encoded;
    try {
      encoded = encodeForPeer(this.services, record.args, info.clientId);
    } catch (error) {
      this.settle(record, error as Error);
      return;
    }
    record.sentOn = rpc;
    this.inflight.add(record);
    rpc.request(record.route, encoded.json, encoded.buffers).then(
      (frame) => {
        if (record.sentOn !== rpc) return;
        this.inflight.delete(record);
        this.complete(record, frame);
      },
      // Channel closed: `lost` decides between retry and ActorDiedError.
      () => {},
    );
  }

  private complete(record: CallRecord, frame: Frame): void {
    if (record.done) return;
    if (frame.kind === FrameKind.Error) {
      this.settle(record, errorFromData(JSON.parse(frame.body) as ErrorData, { actor: this.target.displayName, method: record.method }));
      return;
    }
    let value: unknown;
    try {
      value = decodeFromPeer(this.services, frame);
    } catch (error) {
      this.settle(record, error as Error);
      return;
    }
    this.services.observeCall?.(this.target.role, record.method, (performance.now() - record.started) / 1000);
    this.settle(record, undefined, value);
  }

  private lost(rpc: RpcConnection): void {
    if (this.rpc !== rpc || this.state === 'closed') return;
    this.rpc = undefined;
    // Calls in flight go back to the front of the queue (keeping their order), marked: once it is known why the
    // link dropped, each is sent again or rejected.
    const interrupted = [...this.inflight];
    this.inflight.clear();
    for (const record of interrupted) {
      record.sentOn = undefined;
      record.interrupted = true;
    }
    this.queue = [...interrupted, ...this.queue];
    this.state = 'resolving';
    void this.relink(this.info as ActorInfo);
  }

  /** The error for a call that the actor's death interrupted (`inFlight`) or that came after it. */
  private diedError(method: string, resolution: ActorResolution, inFlight: boolean): ActorDiedError {
    const cause: ActorDeathCause =
      (inFlight ? resolution.previousDeath : undefined) ??
      (resolution.state === 'dead' ? resolution.cause : (resolution.previousDeath ?? { kind: 'exit', reason: 'its process ended' }));
    return new ActorDiedError(this.target.displayName, this.target.role, cause, {
      method,
      restarting: resolution.state === 'alive',
      ...(resolution.state === 'dead' ? { restartsExhausted: resolution.restartsExhausted, maxRestarts: resolution.maxRestarts } : {}),
    });
  }

  private failAll(error: Error): void {
    this.state = 'closed';
    for (const record of this.queue) this.settle(record, error);
    this.queue = [];
  }

  private settle(record: CallRecord, error: Error | undefined, value?: unknown): void {
    if (record.done) return;
    record.done = true;
    if (record.timer) clearTimeout(record.timer);
    this.inflight.delete(record);
    if (error) record.reject(error);
    else record.resolve(value);
  }
}
