import { errorToData } from '../runtime-errors.ts';
import type { Responder, RpcConnection } from '../transport/rpc.ts';
import type { Frame } from '../transport/transport.ts';
import type { ActorCreateSpec } from '../control/control-plane.ts';
import { decodeFromPeer, encodeForPeer, type ProcessServices } from '../actor/call-codec.ts';
import type { HealthReport } from '../actor/actor-handle.ts';
import type { ObjectRef } from '../object-store/object-ref.ts';

interface Task {
  method: string;
  args: unknown[];
  respond: Responder;
  caller: string;
  /** Refs that arrived as arguments: borrowed for the call, released when it returns unless retained. */
  borrowed: ObjectRef<unknown>[];
}

interface Group {
  name: string;
  maxConcurrency: number;
  running: number;
  queue: Task[];
}

/** Concurrency of the `health` group unless the actor sizes it itself. */
const HEALTH_CONCURRENCY = 2;

/** A method whose synchronous part holds the event loop longer than this is reported: nothing else can run. */
const BLOCKING_WARNING_MS = 2_000;

/**
 * Runs an actor's calls inside its worker process. Each concurrency group is a FIFO queue with its own limit, so
 * calls start in the order they arrived (per caller, that is the order they were made) and a busy group never
 * delays another: `health` is always a group of its own (a production lesson: health checks starved behind
 * inference calls caused a cascading outage). Methods are async; a method that awaits frees its group's slot
 * only when it finishes, so with `maxConcurrency: 1` calls run strictly one after another.
 *
 * A class can map methods to groups itself with a static field:
 *   static concurrencyGroups = { io: { maxConcurrency: 4, methods: ['upload'] } };
 */
export class ActorHost {
  private readonly groups = new Map<string, Group>();
  private readonly methodGroups = new Map<string, string>();
  private readonly started = Date.now();
  private lastTouch = 0;
  /** Methods already warned about for holding the event loop (`reportBlocking`). */
  private readonly blockingReported = new Set<string>();

  constructor(
    private readonly instance: Record<string, unknown>,
    private readonly spec: ActorCreateSpec,
    private readonly displayName: string,
    private readonly actorId: string,
    private readonly services: ProcessServices,
  ) {
    const declared = (instance.constructor as { concurrencyGroups?: ActorCreateSpec['concurrencyGroups'] }).concurrencyGroups ?? {};
    this.addGroup('default', spec.maxConcurrency);
    this.addGroup('health', HEALTH_CONCURRENCY);
    this.methodGroups.set('health', 'health');
    for (const [name, group] of Object.entries({ ...declared, ...spec.concurrencyGroups })) {
      this.addGroup(name, group.maxConcurrency);
      for (const method of group.methods ?? []) this.methodGroups.set(method, name);
    }
  }

  /** A request frame from any caller (driver or another actor). */
  handle(frame: Frame, respond: Responder, connection: RpcConnection): void {
    const hash = frame.route.indexOf('#');
    const method = hash < 0 ? frame.route : frame.route.slice(0, hash);
    const groupName = hash < 0 ? (this.methodGroups.get(method) ?? 'default') : frame.route.slice(hash + 1);
    const group = this.groups.get(groupName);
    if (!group) {
      respond.error(JSON.stringify({ name: 'ConfigError', code: 'CONFIG_INVALID', path: 'concurrencyGroup', message: `actor '${this.displayName}' has no concurrency group '${groupName}' (groups: ${[...this.groups.keys()].join(', ')})` }));
      return;
    }
    let args: unknown[];
    const borrowed: ObjectRef<unknown>[] = [];
    try {
      args = decodeFromPeer(this.services, frame, borrowed) as unknown[];
    } catch (error) {
      respond.error(JSON.stringify(errorToData(error)));
      return;
    }
    if (this.spec.detached) this.touch();
    group.queue.push({ method, args, respond, caller: connection.peerId ?? 'unknown', borrowed });
    this.drain(group);
  }

  private addGroup(name: string, maxConcurrency: number): void {
    this.groups.set(name, { name, maxConcurrency, running: 0, queue: [] });
  }

  private drain(group: Group): void {
    while (group.running < group.maxConcurrency && group.queue.length > 0) {
      const task = group.queue.shift() as Task;
      group.running++;
      let result: unknown;
      const started = performance.now();
      try {
        result = this.invoke(task);
      } catch (error) {
        this.finish(group, task, error, undefined, true);
        continue;
      }
      this.reportBlocking(task.method, performance.now() - started);
      if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(
          (value) => {
            this.finish(group, task, undefined, value, false);
            this.drain(group);
          },
          (error: unknown) => {
            this.finish(group, task, error, undefined, true);
            this.drain(group);
          },
        );
      } else {
        this.finish(group, task, undefined, result, false);
      }
    }
  }

  private invoke(task: Task): unknown {
    const method = this.instance[task.method];
    if (typeof method !== 'function' || task.method === 'constructor' || Object.prototype.hasOwnProperty.call(Object.prototype, task.method)) {
      if (task.method === 'health') return this.builtinHealth();
      throw new TypeError(`actor '${this.displayName}' (class ${this.spec.exportName}) has no method '${task.method}'`);
    }
    return (method as (...args: unknown[]) => unknown).apply(this.instance, task.args);
  }

  private finish(group: Group, task: Task, error: unknown, value: unknown, failed: boolean): void {
    group.running--;
    if (failed) {
      task.respond.error(JSON.stringify(errorToData(error)));
    } else {
      const moved: ObjectRef<unknown>[] = [];
      try {
        const encoded = encodeForPeer(this.services, value, task.caller, moved);
        task.respond.ok(encoded.json, encoded.buffers);
      } catch (encodeError) {
        task.respond.error(JSON.stringify(errorToData(encodeError)));
      }
      // Returned refs now belong to the caller (the transfer is announced), so this process lets go of them.
      for (const ref of moved) ref.releaseUnlessRetained(`it was returned from '${task.method}' and moved to the caller`);
    }
    for (const ref of task.borrowed) ref.releaseUnlessRetained(`it was borrowed by the call '${task.method}' and released when the call returned`);
  }

  /**
   * Actor methods must not block: while one holds the event loop, no other call, not even `health`, is answered.
   * Long CPU work should yield between steps (`await` something); waiting for another actor is always `await`.
   */
  private reportBlocking(method: string, blockedMs: number): void {
    if (blockedMs < BLOCKING_WARNING_MS) return;
    // Warned once per method: a method that blocks by design (a training step in a role host) would otherwise
    // repeat the line every call and bury the run's own log. Later occurrences go to `debug`.
    const first = !this.blockingReported.has(method);
    this.blockingReported.add(method);
    this.services.logger[first ? 'warn' : 'debug'](
      { method, blockedMs: Math.round(blockedMs) },
      `method '${method}' held the event loop for ${Math.round(blockedMs)} ms without yielding; health checks and other calls waited` +
        (first ? ' (reported once per method; later ones at debug level)' : ''),
    );
  }

  private builtinHealth(): HealthReport {
    const busy: Record<string, number> = {};
    for (const group of this.groups.values()) busy[group.name] = group.running + group.queue.length;
    return { status: 'ok', actor: this.displayName, pid: process.pid, uptimeSeconds: (Date.now() - this.started) / 1000, busy };
  }

  /** Tell the head this detached actor is in use, at most four times per TTL. */
  private touch(): void {
    const now = Date.now();
    if (now - this.lastTouch < (this.spec.ttlMs ?? 0) / 4) return;
    this.lastTouch = now;
    this.services.control.touchActor(this.actorId);
  }
}
