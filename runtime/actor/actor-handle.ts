import type { ActorHandleData, ProcessServices } from './call-codec.ts';
import { ActorConnection } from './actor-connection.ts';

/** A class whose instances can be actors: any exported class; its methods become callable. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ActorClass = abstract new (...args: any) => object;

/** Names of `T`'s methods. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MethodName<T> = { [K in keyof T]: T[K] extends (...args: any[]) => unknown ? K : never }[keyof T] & string;
export type MethodArgs<T, M extends MethodName<T>> = T[M] extends (...args: infer A) => unknown ? A : never;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MethodResult<T, M extends MethodName<T>> = T[M] extends (...args: any[]) => infer R ? Awaited<R> : never;

export interface CallOptions {
  /** Run in this concurrency group instead of the method's own (e.g. `health`). */
  concurrencyGroup?: string;
  /** Reject with `CallTimeoutError` after this long (the actor is not interrupted). */
  timeoutMs?: number;
}

/** What `health()` answers when the class has no `health` method of its own. */
export interface HealthReport {
  status: 'ok';
  actor: string;
  pid: number;
  uptimeSeconds: number;
  /** Calls queued or running per concurrency group. */
  busy: Record<string, number>;
}

/**
 * A typed reference to an actor. Calls return promises and run in the order this process made them; handles can
 * be passed to other actors as arguments (they call the actor directly, not through the driver).
 *
 * @example
 * const counter = await runtime.createActor<typeof Counter>({ module: new URL('./counter.ts', import.meta.url), exportName: 'Counter', args: [10] });
 * await counter.call('add', 5); // 15
 * await counter.withOptions({ timeoutMs: 1000 }).call('add', 1);
 * await counter.health(); // answered by the `health` concurrency group even while `add` is busy
 */
export class ActorHandle<T = unknown> {
  private connection: ActorConnection | undefined;

  constructor(private readonly data: ActorHandleData, private readonly services: ProcessServices, private readonly connections: Map<string, ActorConnection>) {}

  get actorId(): string {
    return this.data.actorId;
  }

  /** The actor's name (or `<role>-<id>` when unnamed). */
  get name(): string {
    return this.data.displayName;
  }

  get role(): string {
    return this.data.role;
  }

  call<M extends MethodName<T>>(method: M, ...args: MethodArgs<T, M>): Promise<MethodResult<T, M>> {
    return this.link().call(method, args, {}) as Promise<MethodResult<T, M>>;
  }

  /** The same handle with per-call options. */
  withOptions(options: CallOptions): { call<M extends MethodName<T>>(method: M, ...args: MethodArgs<T, M>): Promise<MethodResult<T, M>> } {
    return { call: (method, ...args) => this.link().call(method, args, options) as never };
  }

  /** Ask the actor's `health` group (never queued behind the default group's work). */
  health(options: { timeoutMs?: number } = {}): Promise<HealthReport> {
    return this.link().call('health', [], { concurrencyGroup: 'health', ...options }) as Promise<HealthReport>;
  }

  /**
   * Kill the actor's process (SIGKILL); resolves when it is gone and its resources are free. Calls in flight
   * reject with `ActorDiedError` (cause `killed`). With `restart: true` it counts as a crash: the actor restarts
   * if `maxRestarts` allows, and this resolves when the new process is ready (or the actor is dead).
   */
  async kill(options: { restart?: boolean } = {}): Promise<void> {
    await this.services.control.killActor(this.data.actorId, { restart: options.restart ?? false });
  }

  toData(): ActorHandleData {
    return this.data;
  }

  toString(): string {
    return `ActorHandle(${this.data.displayName}, role ${this.data.role})`;
  }

  private link(): ActorConnection {
    if (this.connection) return this.connection;
    let connection = this.connections.get(this.data.actorId);
    if (!connection) {
      connection = new ActorConnection(this.data, this.services);
      this.connections.set(this.data.actorId, connection);
    }
    this.connection = connection;
    return connection;
  }
}
