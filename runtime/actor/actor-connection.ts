import { ActorDiedError, CallTimeoutError, RuntimeClosedError, errorFromData, type ActorDeathCause, type ErrorData } from '../runtime-errors.ts';
import { RpcConnection } from '../transport/rpc.ts';
import { transportFor } from '../transport/transports.ts';
import { FrameKind, type Frame } from '../transport/transport.ts';
import type { ActorInfo, ActorResolution } from '../control/control-plane.ts';
import { decodeFromPeer, encodeForPeer, type ActorHandleData, type ProcessServices } from './call-codec.ts';

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
}

/**
 * This process's link to one actor: resolves the actor's current incarnation through the head, connects to its
 * worker directly (actor-to-actor calls never pass through the driver), pipelines calls, and keeps per-caller
 * order: calls are sent in the order they were made, and while the actor restarts they queue in that order.
 *
 * When the link drops, the head says what happened: calls that were in flight reject with `ActorDiedError`
 * (naming the actor, its role and the cause) unless `maxTaskRetries` allows sending them again to the restarted
 * actor; if the actor is dead for good, everything queued rejects too, and so does every later call.
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
    // A worker on the actor's own node calls it over the local channel; everyone else over the network.
    const address = info.localAddress !== undefined && this.services.nodeId !== undefined && info.nodeId === this.services.nodeId ? info.localAddress : info.address;
    transportFor(address)
      .connect(address, `actor ${info.displayName}`)
      .then(
        (channel) => {
          if (this.state === 'closed') {
            channel.close();
            return;
          }
          const rpc = new RpcConnection(channel, { onClose: () => this.lost(rpc) });
          rpc.notify('hello', JSON.stringify([this.services.clientId]));
          this.rpc = rpc;
          this.state = 'open';
          const queued = this.queue;
          this.queue = [];
          for (const record of queued) if (!record.done) this.send(record);
        },
        // The worker died between the head's answer and our connect: ask again about that incarnation.
        () => this.resolve(info.incarnation),
      );
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
    const interrupted = [...this.inflight];
    this.inflight.clear();
    for (const record of interrupted) record.sentOn = undefined;
    const incarnation = (this.info as ActorInfo).incarnation;
    this.state = 'resolving';
    this.services.control.resolveActor(this.target.actorId, incarnation).then(
      (resolution) => {
        const retry: CallRecord[] = [];
        for (const record of interrupted) {
          if (record.done) continue;
          if (resolution.state === 'alive' && record.retriesLeft > 0) {
            record.retriesLeft--;
            retry.push(record);
          } else {
            this.settle(record, this.diedError(record.method, resolution, true));
          }
        }
        this.queue = [...retry, ...this.queue];
        this.resolved(resolution);
      },
      (error: Error) => this.failAll(error, interrupted),
    );
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

  private failAll(error: Error, extra: CallRecord[] = []): void {
    this.state = 'closed';
    for (const record of [...extra, ...this.queue]) this.settle(record, error);
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
