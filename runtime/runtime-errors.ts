import { ConfigError, PosttrainError } from './errors.ts';

/**
 * The runtime's errors. Each names the component at fault (an actor and its role, an object and its owner, a
 * placement group and its bundles) and says what to do, because a distributed failure that says only "UNAVAILABLE"
 * or "connection reset" costs hours (a production lesson: errors name the component that failed).
 *
 * Errors cross process boundaries as plain data (`toJSON`) and are rebuilt as the same class on the other side
 * (`errorFromData`), so `instanceof ActorDiedError` works on the driver for an error raised in a worker.
 */

/** Why an actor's process ended. */
export interface ActorDeathCause {
  /** `exit` (process exited with a code), `signal`, `oom`, `killed` (kill() or placement group removal), `reaped`
   * (detached actor past its TTL), `owner-died`, `constructor-failed`, `restarts-exhausted`, `shutdown`,
   * `node-lost` (cluster mode: its node stopped heartbeating or was fenced off). */
  kind: 'exit' | 'signal' | 'oom' | 'killed' | 'reaped' | 'owner-died' | 'constructor-failed' | 'shutdown' | 'node-lost';
  /** Human-readable reason, e.g. `killed by SIGKILL`, `exited with code 3`, `out of memory (JavaScript heap)`. */
  reason: string;
  exitCode?: number | null;
  signal?: string | null;
}

/** A call could not complete because the actor's process is dead (or died while running it). */
export class ActorDiedError extends PosttrainError {
  readonly actor: string;
  readonly role: string;
  /** Why the process ended (not `cause`, which `Error` already uses for chained errors). */
  readonly deathCause: ActorDeathCause;
  /** True when the actor restarted (or will restart) after this death; later calls can succeed. */
  readonly restarting: boolean;

  constructor(actor: string, role: string, cause: ActorDeathCause, detail: { method?: string; restarting?: boolean; restartsExhausted?: boolean; maxRestarts?: number } = {}) {
    const what = detail.method === undefined ? '' : ` while running '${detail.method}'`;
    const after = detail.restarting
      ? '; it is restarting, later calls will go to the new process'
      : detail.restartsExhausted
        ? `; restarts exhausted (maxRestarts ${detail.maxRestarts ?? 0}), the actor is dead`
        : '; the actor is dead';
    super('ACTOR_DIED', `actor '${actor}' (role ${role}) died${what}: ${cause.reason}${after}`, { path: actor });
    this.actor = actor;
    this.role = role;
    this.deathCause = cause;
    this.restarting = detail.restarting ?? false;
  }
}

/**
 * The link to a live actor dropped while a call was in flight (the peer was silent past the keepalive: a stopped
 * process, a method that held the event loop, a network blip). The actor is still alive and later calls reach it;
 * this call may or may not have run. `maxTaskRetries` sends such calls again instead.
 */
export class ActorUnavailableError extends PosttrainError {
  readonly actor: string;
  readonly role: string;

  constructor(actor: string, role: string, method: string) {
    super(
      'ACTOR_UNAVAILABLE',
      `the link to actor '${actor}' (role ${role}) dropped while '${method}' was in flight; the actor is alive and later calls reach it, but this call may or may not have run (set maxTaskRetries to send it again)`,
      { path: `${actor}.${method}` },
    );
    this.actor = actor;
    this.role = role;
  }
}

/** An actor method threw. The message carries the remote error's name and message; `remoteStack` its stack. */
export class ActorMethodError extends PosttrainError {
  readonly remoteName: string;
  readonly remoteStack: string | undefined;

  constructor(actor: string, method: string, remote: { name: string; message: string; stack?: string }) {
    super('ACTOR_METHOD_FAILED', `actor '${actor}' method '${method}' threw ${remote.name}: ${remote.message}`, { path: `${actor}.${method}` });
    this.remoteName = remote.name;
    this.remoteStack = remote.stack;
  }
}

/** The actor's constructor (or module import) failed; the actor never became alive. */
export class ActorCreationError extends PosttrainError {
  constructor(actor: string, reason: string) {
    super('ACTOR_CREATION_FAILED', `actor '${actor}' could not be created: ${reason}`, { path: actor });
  }
}

/** No node could ever satisfy a resource request (not even an empty one). */
export class InfeasibleResourcesError extends PosttrainError {
  readonly shortfall: { resource: string; requested: number; largest: number; node: string | undefined }[];

  constructor(what: string, shortfall: InfeasibleResourcesError['shortfall']) {
    const parts = shortfall.map((item) =>
      item.node === undefined
        ? `${item.resource}: ${item.requested} requested but no node has any (short by ${round(item.requested)})`
        : `${item.resource}: ${item.requested} requested but the largest node (${item.node}) has ${item.largest} in total (short by ${round(item.requested - item.largest)})`,
    );
    super('RESOURCES_INFEASIBLE', `${what} can never be scheduled: ${parts.join('; ')}`, { path: what });
    this.shortfall = shortfall;
  }
}

/** A placement group that no arrangement of the cluster's nodes could ever hold. */
export class PlacementGroupInfeasibleError extends PosttrainError {
  constructor(group: string, reason: string) {
    super('PLACEMENT_GROUP_INFEASIBLE', `placement group '${group}' can never be placed: ${reason}`, { path: group });
  }
}

/** `ready({ timeoutMs })` ran out: lists the bundles that did not fit and what each node has free. */
export class PlacementGroupTimeoutError extends PosttrainError {
  readonly unplacedBundles: number[];
  readonly freePerNode: Record<string, Record<string, number>>;

  constructor(group: string, timeoutMs: number, strategy: string, unplaced: { index: number; bundle: Record<string, number>; shortfall: string }[], freePerNode: Record<string, Record<string, number>>) {
    const bundles = unplaced.map((item) => `bundle ${item.index} ${formatResources(item.bundle)} (${item.shortfall})`).join('; ');
    const free = Object.entries(freePerNode).map(([node, resources]) => `${node} ${formatResources(resources)}`).join(', ');
    super(
      'PLACEMENT_GROUP_TIMEOUT',
      `placement group '${group}' (${strategy}) was not ready after ${timeoutMs} ms: ${bundles}. Free now: ${free}. ` +
        'Remove other placement groups or actors, or ask for less.',
      { path: group },
    );
    this.unplacedBundles = unplaced.map((item) => item.index);
    this.freePerNode = freePerNode;
  }
}

/** The placement group was removed; its actors were killed and its reservation freed. */
export class PlacementGroupRemovedError extends PosttrainError {
  constructor(group: string) {
    super('PLACEMENT_GROUP_REMOVED', `placement group '${group}' was removed`, { path: group });
  }
}

/** An object can no longer be read: its owner died (objects die with their owner) or it was freed. */
export class ObjectLostError extends PosttrainError {
  readonly objectId: string;
  readonly owner: string;

  constructor(objectId: string, owner: string, reason: string) {
    super('OBJECT_LOST', `object ${objectId} is lost: ${reason} (owner: ${owner})`, { path: objectId });
    this.objectId = objectId;
    this.owner = owner;
  }
}

/** The object store cannot start or cannot take an object (e.g. `/dev/shm` too small). */
export class ObjectStoreError extends PosttrainError {
  constructor(code: string, message: string, path?: string) {
    super(code, message, path === undefined ? {} : { path });
  }
}

/** A module that is not under an allow-listed root was asked to become an actor. */
export class ActorModuleNotAllowedError extends PosttrainError {
  constructor(module: string, roots: readonly string[]) {
    super(
      'ACTOR_MODULE_NOT_ALLOWED',
      `module ${module} is not under an allow-listed actor module root (${roots.join(', ')}); ` +
        'add its directory to runtime option actorModuleRoots',
      { path: module },
    );
  }
}

/** A named thing was looked up or created without an explicit namespace, or a name is taken or unknown. */
export class NamingError extends PosttrainError {
  constructor(code: 'NAMESPACE_REQUIRED' | 'NAME_TAKEN' | 'NAME_NOT_FOUND', message: string, path: string) {
    super(code, message, { path });
  }
}

/** A call did not complete within its `timeoutMs`. */
export class CallTimeoutError extends PosttrainError {
  constructor(actor: string, method: string, timeoutMs: number) {
    super('CALL_TIMEOUT', `call '${method}' on actor '${actor}' did not complete within ${timeoutMs} ms`, { path: `${actor}.${method}` });
  }
}

/** The runtime was shut down (or a connection to it closed) while something was pending. */
export class RuntimeClosedError extends PosttrainError {
  constructor(what: string) {
    super('RUNTIME_CLOSED', `${what}: the runtime is shut down`);
  }
}

/** A transport-level failure: a channel closed, a peer sent a malformed or oversized frame. */
export class TransportError extends PosttrainError {
  constructor(code: 'CHANNEL_CLOSED' | 'FRAME_INVALID' | 'FRAME_TOO_LARGE' | 'CONNECT_FAILED', message: string, path?: string) {
    super(code, message, path === undefined ? {} : { path });
  }
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** `{CPU: 2, GPU: 1}` -> `{CPU: 2, GPU: 1}` with rounded numbers, for messages. */
export function formatResources(resources: Record<string, number>): string {
  const entries = Object.entries(resources).map(([name, amount]) => `${name}: ${round(amount)}`);
  return `{${entries.join(', ')}}`;
}

/** Plain data of an error, safe to send to another process. */
export interface ErrorData {
  name: string;
  message: string;
  code?: string;
  path?: string;
  stack?: string;
  /** Constructor arguments of known runtime errors, so the receiver rebuilds the same class. */
  details?: unknown;
}

export function errorToData(error: unknown): ErrorData {
  if (error instanceof ActorDiedError) {
    return { name: error.name, message: error.message, code: error.code, details: { actor: error.actor, role: error.role, cause: error.deathCause, restarting: error.restarting } };
  }
  if (error instanceof ObjectLostError) {
    return { name: error.name, message: error.message, code: error.code, details: { objectId: error.objectId, owner: error.owner } };
  }
  if (error instanceof PosttrainError) {
    // The class's own data fields (a ConfigError's issues, a timeout's unplaced bundles) travel with it.
    const fields = Object.fromEntries(Object.entries(error).filter(([key]) => key !== 'name' && key !== 'code' && key !== 'path'));
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      ...(error.path === undefined ? {} : { path: error.path }),
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(Object.keys(fields).length === 0 ? {} : { details: fields }),
    };
  }
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  }
  return { name: 'Error', message: String(error) };
}

/** A PosttrainError rebuilt from data that carries the original code and path. */
export class RemotePosttrainError extends PosttrainError {
  constructor(data: ErrorData) {
    super(data.code ?? 'REMOTE_ERROR', data.message, data.path === undefined ? {} : { path: data.path });
    this.name = data.name;
    if (data.stack !== undefined) this.stack = data.stack;
  }
}

/**
 * Rebuild an error that crossed a process boundary. Runtime errors come back as their own class (so callers can
 * test `instanceof ActorDiedError`); a user's error thrown in an actor method comes back as `ActorMethodError`.
 */
export function errorFromData(data: ErrorData, context: { actor?: string; method?: string } = {}): Error {
  if (data.name === 'ActorDiedError' && data.details) {
    const details = data.details as { actor: string; role: string; cause: ActorDeathCause; restarting: boolean };
    const error = new ActorDiedError(details.actor, details.role, details.cause, { restarting: details.restarting });
    error.message = data.message;
    return error;
  }
  if (data.name === 'ObjectLostError' && data.details) {
    const details = data.details as { objectId: string; owner: string };
    const error = new ObjectLostError(details.objectId, details.owner, '');
    error.message = data.message;
    return error;
  }
  const known = data.code === undefined ? undefined : errorClasses.get(data.name);
  if (known) {
    // Same class, same fields, without re-running a constructor whose arguments did not travel.
    const error = Object.create(known.prototype) as PosttrainError;
    Object.defineProperty(error, 'message', { value: data.message, writable: true, configurable: true });
    Object.assign(error, data.details ?? {}, { name: data.name, code: data.code, path: data.path });
    error.stack = data.stack ?? `${data.name}: ${data.message}`;
    return error;
  }
  if (data.code !== undefined) return new RemotePosttrainError(data);
  if (context.actor !== undefined && context.method !== undefined) return new ActorMethodError(context.actor, context.method, data);
  const error = new Error(data.message);
  error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

const errorClasses = new Map<string, abstract new (...args: never[]) => PosttrainError>();

/**
 * Let `errorFromData` rebuild errors of this class as the class itself, so that `instanceof` works on errors that
 * crossed a process or machine boundary (a cluster head's `InfeasibleResourcesError` in the driver).
 *
 * @example
 * registerErrorClass(GrpcCallError);
 */
export function registerErrorClass(errorClass: abstract new (...args: never[]) => PosttrainError): void {
  errorClasses.set(errorClass.name, errorClass);
}

for (const errorClass of [
  ConfigError,
  ActorMethodError,
  ActorUnavailableError,
  ActorCreationError,
  InfeasibleResourcesError,
  PlacementGroupInfeasibleError,
  PlacementGroupTimeoutError,
  PlacementGroupRemovedError,
  ObjectStoreError,
  ActorModuleNotAllowedError,
  NamingError,
  CallTimeoutError,
  RuntimeClosedError,
  TransportError,
]) {
  registerErrorClass(errorClass);
}
