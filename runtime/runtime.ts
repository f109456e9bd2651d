import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { ConfigError } from './errors.ts';
import { NamingError } from './runtime-errors.ts';
import { ActorGroup } from './actor/actor-group.ts';
import { ActorHandle, type ActorClass } from './actor/actor-handle.ts';
import type { ActorConnection } from './actor/actor-connection.ts';
import { encodeForPeer, type ActorHandleData, type ProcessServices } from './actor/call-codec.ts';
import { PlacementGroup } from './actor/placement-group.ts';
import type { ActorSummary, ControlPlane, NodeInfo, PlacementGroupInfo, PlacementStrategy } from './control/control-plane.ts';
import type { Head } from './head/head.ts';
import type { HeadServer } from './head/head-server.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { ObjectClient } from './object-store/object-client.ts';
import type { ObjectStoreUsage } from './object-store/object-directory.ts';
import { actorSpec, type ActorOptions, type RuntimeOptions } from './runtime-options.ts';
import type { GetOptions, ObjectRef } from './object-store/object-ref.ts';
import type { Resources } from './resources.ts';

/** Options of `createActorGroup`: actor options for every member, plus the size. */
export interface ActorGroupOptions<C extends ActorClass = ActorClass> extends Omit<ActorOptions<C>, 'name' | 'args' | 'bundleIndex' | 'detached' | 'ttlMs'> {
  size: number;
  /** Group name; members are named `<name>-<rank>` (in the namespace) when set. */
  name?: string;
  /** The same arguments for every rank, or a function of the rank. */
  args?: ConstructorParameters<C> | ((rank: number) => ConstructorParameters<C>);
  /** Bundle per rank (default: rank `i` in bundle `i` when the placement group has one bundle per rank). */
  bundleIndex?: (rank: number) => number;
}

export interface PlacementGroupOptions {
  bundles: Resources[];
  /** Default `PACK`. */
  strategy?: PlacementStrategy;
  name?: string;
  namespace?: string;
}

/** The parts of the embedded runtime that only the driver has. */
export interface Embedded {
  head: Head;
  server: HeadServer;
  metrics: RuntimeMetrics;
  directories: string[];
  onExit: () => void;
}

/**
 * The distributed runtime, Ray's model on Node: actors in their own processes, actor groups, placement groups
 * over logical resources, and an object store in shared memory. `Runtime.start()` runs the embedded default
 * (a head and local node(s) inside the driver's process tree); inside an actor, `actorContext().runtime` is the
 * same API talking to that head.
 *
 * @example
 * const runtime = await Runtime.start({ namespace: 'demo', nodes: [{ resources: { CPU: 2, GPU: 4 } }, { resources: { CPU: 2, GPU: 4 } }] });
 * const counter = await runtime.createActor<typeof Counter>({ module: new URL('./counter.ts', import.meta.url), exportName: 'Counter', args: [0] });
 * const ref = await runtime.put(new Float32Array([1, 2, 3]));
 * await counter.call('sum', ref); // the actor calls ref.get() itself
 * await runtime.shutdown();
 */
export class Runtime {
  private readonly connections = new Map<string, ActorConnection>();
  readonly services: ProcessServices;
  private closed = false;
  /** A cluster driver's own registry (created on first use). */
  private driverRegistry: Registry | undefined;

  /** @internal Use `Runtime.start()`; workers build theirs in the bootstrap. */
  constructor(
    base: { clientId: string; clientName: string; control: ControlPlane; objects: ObjectClient; logger: Logger; nodeId?: string },
    /** Namespace used when a named thing is given none. */
    readonly namespace: string | undefined,
    private readonly embedded?: Embedded,
    /** Cluster mode (a driver of a remote head): how to leave the cluster. */
    private readonly cluster?: { close(): Promise<void> },
  ) {
    this.services = {
      ...base,
      handleFromData: (data: ActorHandleData) => new ActorHandle(data, this.services, this.connections),
      isHandle: (value: object): value is ActorHandle => value instanceof ActorHandle,
      ...(embedded ? { observeCall: (role: string, method: string, seconds: number) => embedded.metrics.observeCall(role, method, seconds) } : {}),
    };
  }

  /**
   * Start the embedded runtime (head + logical nodes in this process tree), or, with `address`, join a cluster
   * as its driver (`recipe cluster start --head` / `recipe cluster join`).
   */
  static async start(options: RuntimeOptions = {}): Promise<Runtime> {
    if (options.namespace !== undefined && (typeof options.namespace !== 'string' || options.namespace === '')) {
      throw new ConfigError([{ path: 'namespace', message: 'must be a non-empty string' }]);
    }
    if (options.address !== undefined) {
      const { startClusterDriver } = await import('./cluster/cluster-driver.ts');
      const driver = await startClusterDriver(options);
      return new Runtime(driver.base, options.namespace, undefined, driver);
    }
    // Loaded on demand so that worker processes, which never start a head, do not pay for it at start-up.
    const { startEmbedded } = await import('./embedded.ts');
    const started = await startEmbedded(options);
    return new Runtime(started.base, options.namespace, started.embedded);
  }

  /** Kill every actor, free every object and remove the session's files. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
    this.services.objects.flush();
    if (this.cluster) {
      await this.cluster.close();
      this.services.logger.info('left the cluster');
    }
    if (this.embedded) {
      await this.embedded.head.close();
      await this.embedded.server.close();
      this.embedded.onExit();
      process.removeListener('exit', this.embedded.onExit);
      this.services.logger.info('runtime shut down');
    }
  }

  /** Store a value; the returned ref is owned by this process (driver or actor). */
  put<T>(value: T): Promise<ObjectRef<T>> {
    return this.services.objects.put(value);
  }

  get<T>(ref: ObjectRef<T>, options?: GetOptions): Promise<T> {
    return this.services.objects.get(ref as ObjectRef<unknown>, options) as Promise<T>;
  }

  /** Start an actor in its own worker process; resolves once its constructor has run. */
  async createActor<C extends ActorClass>(options: ActorOptions<C>): Promise<ActorHandle<InstanceType<C>>> {
    const args = encodeForPeer(this.services, options.args ?? [], undefined);
    const spec = actorSpec(options as ActorOptions, args, this.namespace);
    const info = await this.services.control.createActor(this.services.clientId, spec);
    return new ActorHandle<InstanceType<C>>(
      { actorId: info.actorId, displayName: info.displayName, role: info.role, maxTaskRetries: info.maxTaskRetries },
      this.services,
      this.connections,
    );
  }

  /** Find a named actor. The namespace is the option's, else the runtime's; there is no implicit default. */
  async getActor<T = unknown>(name: string, options: { namespace?: string } = {}): Promise<ActorHandle<T>> {
    const namespace = options.namespace ?? this.namespace;
    if (namespace === undefined) {
      throw new NamingError('NAMESPACE_REQUIRED', `getActor('${name}') needs a namespace (there is no default namespace): pass { namespace } or Runtime.start({ namespace })`, name);
    }
    const info = await this.services.control.getActor(name, namespace);
    if (!info) throw new NamingError('NAME_NOT_FOUND', `no live actor named '${name}' in namespace '${namespace}'`, name);
    return new ActorHandle<T>({ actorId: info.actorId, displayName: info.displayName, role: info.role, maxTaskRetries: info.maxTaskRetries }, this.services, this.connections);
  }

  /** `size` actors of one class; member `rank` knows `actorContext().group`. */
  async createActorGroup<C extends ActorClass>(options: ActorGroupOptions<C>): Promise<ActorGroup<InstanceType<C>>> {
    if (!Number.isInteger(options.size) || options.size < 1) throw new ConfigError([{ path: 'size', message: `must be an integer >= 1, got ${JSON.stringify(options.size)}` }]);
    const groupName = options.name ?? `${options.role ?? options.exportName}-group`;
    const bundles = options.placementGroup?.bundles.length;
    const members = await Promise.all(
      Array.from({ length: options.size }, async (_, rank) => {
        const args = typeof options.args === 'function' ? options.args(rank) : (options.args ?? []);
        const bundleIndex = options.bundleIndex?.(rank) ?? (bundles === options.size ? rank : undefined);
        const memberOptions: ActorOptions = {
          ...(options as unknown as ActorOptions),
          args: args as unknown[],
          ...(options.name === undefined ? {} : { name: `${options.name}-${rank}` }),
          ...(bundleIndex === undefined ? {} : { bundleIndex }),
        };
        delete (memberOptions as { size?: number }).size;
        const spec = actorSpec(memberOptions, encodeForPeer(this.services, args, undefined), this.namespace, `group.${rank}`);
        spec.group = { name: groupName, rank, size: options.size };
        const info = await this.services.control.createActor(this.services.clientId, spec);
        return new ActorHandle<InstanceType<C>>({ actorId: info.actorId, displayName: info.displayName, role: info.role, maxTaskRetries: info.maxTaskRetries }, this.services, this.connections);
      }),
    );
    return new ActorGroup(groupName, options.role ?? options.exportName, members);
  }

  /** Reserve bundles atomically; `ready()` waits for the reservation. Throws at once if it could never fit. */
  async createPlacementGroup(options: PlacementGroupOptions): Promise<PlacementGroup> {
    const namespace = options.namespace ?? (options.name === undefined ? undefined : this.namespace);
    const info = await this.services.control.createPlacementGroup(this.services.clientId, {
      bundles: options.bundles,
      strategy: options.strategy ?? 'PACK',
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(namespace === undefined ? {} : { namespace }),
    });
    return new PlacementGroup(info, this.services.control);
  }

  nodes(): Promise<NodeInfo[]> {
    return this.services.control.nodes();
  }

  /**
   * Publish a small value for others to find (cluster-wide, kept in the head's control store): e.g. rank 0 of a
   * collective group publishes its unique id, and the other ranks `getKey` it.
   */
  putKey(namespace: string, key: string, value: string): Promise<void> {
    return this.services.control.putKey(namespace, key, value);
  }

  /** Read a published value; with `timeoutMs`, wait up to that long for it to appear (polling every 50 ms). */
  async getKey(namespace: string, key: string, options: { timeoutMs?: number } = {}): Promise<string | undefined> {
    const deadline = Date.now() + (options.timeoutMs ?? 0);
    for (;;) {
      const value = await this.services.control.getKey(namespace, key);
      if (value !== undefined || Date.now() >= deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Actors that are not dead yet, across the runtime (not only this process's). A leak check after a sweep:
   * `(await runtime.listActors()).length === 0`.
   */
  listActors(): Promise<ActorSummary[]> {
    return this.services.control.listActors();
  }

  /** Placement groups that hold (or wait for) a reservation; removed groups are gone from the list. */
  listPlacementGroups(): Promise<PlacementGroupInfo[]> {
    return this.services.control.listPlacementGroups();
  }

  objectStoreUsage(): Promise<ObjectStoreUsage> {
    return this.services.control.objectStoreUsage();
  }

  /**
   * The driver's Prometheus registry. Embedded: the runtime's metrics (actors, calls, object store) plus whatever
   * the driver adds. Cluster driver: only what the driver adds (a trainer's step metrics, its role hosts' remote
   * metrics); the runtime's own metrics live on the head and the nodes. Worker processes have none.
   */
  get metrics(): Registry {
    if (this.embedded) return this.embedded.metrics.registry;
    if (this.cluster) return (this.driverRegistry ??= new Registry());
    throw new ConfigError([{ path: 'metrics', message: 'metrics live in the driver process' }]);
  }

  get logger(): Logger {
    return this.services.logger;
  }

  /** This process's id in the runtime (`driver`, or the worker's id). */
  get clientId(): string {
    return this.services.clientId;
  }
}
