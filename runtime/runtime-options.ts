import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError } from './errors.ts';
import { actorResources, validateResources, type Resources } from './resources.ts';
import type { StatFs } from './object-store/shm-check.ts';
import type { ActorCreateSpec } from './control/control-plane.ts';
import type { ActorClass } from './actor/actor-handle.ts';
import type { PlacementGroup } from './actor/placement-group.ts';
import type { EncodedValue } from './value-codec.ts';
import type { TlsFiles } from './cluster/grpc/cluster-security.ts';

/** Options of `Runtime.start`. Every field is optional: `Runtime.start()` is the embedded default. */
export interface RuntimeOptions {
  /**
   * Address of a cluster head (`host:port`, started with `recipe cluster start --head`): the driver joins that
   * cluster instead of starting the embedded runtime. `nodes` and `prestartWorkers` are the nodes' business then.
   * With heads that keep their state in etcd, every head's address, comma-separated: the driver follows the leader.
   */
  address?: string;
  /** Cluster mode: the bearer token (default: `POSTTRAIN_TOKEN`, or the file named by `POSTTRAIN_TOKEN_FILE`). */
  token?: string;
  /** Cluster mode: a file holding the token. */
  tokenFile?: string;
  /** Cluster mode: TLS (default: `POSTTRAIN_TLS_CERT`, `POSTTRAIN_TLS_KEY`, `POSTTRAIN_TLS_CA`). */
  tls?: TlsFiles;
  /**
   * Cluster mode: the address nodes reach this driver at to fetch the objects it puts (default: the local address
   * of the route to the head).
   */
  host?: string;
  /** Cluster mode: timers, mostly for tests (keepalive, connect and fetch timeouts, how long requests wait for the head). */
  clusterTimeouts?: ClusterTimeouts;
  /** Namespace for named actors and placement groups created or looked up without one. Never implied. */
  namespace?: string;
  /**
   * Logical nodes on this machine, each with its own resources, so placement semantics can be used and tested
   * without a cluster. Default: one node with this machine's CPUs, GPUs and 70% of its memory.
   */
  nodes?: NodeOptions[];
  objectStore?: ObjectStoreOptions;
  /** Directories whose modules may become actors. Default: the project (nearest package.json) and posttrain. */
  actorModuleRoots?: string[];
  /** Parent logger (default: the process root logger). */
  logger?: Logger;
  /** How often the reaper looks for detached actors past their TTL (default 1000 ms). */
  reaperIntervalMs?: number;
  /** Extra Node flags for every worker (e.g. `--max-old-space-size=4096`). */
  workerExecArgv?: string[];
  /**
   * Workers booted ahead of need (default 1): creating or restarting a CPU actor then skips Node's and tsx's
   * start-up (~0.5 s here). GPU actors and actors with their own env or flags always get a fresh process.
   */
  prestartWorkers?: number;
}

export interface ClusterTimeouts {
  /** HTTP/2 ping interval both ways (default 10 s): a silent peer is dropped after this plus `keepaliveTimeoutMs`. */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  /** How long connecting retries an unavailable peer (default 10 s). */
  connectTimeoutMs?: number;
  /** How long fetching an object from an unreachable node is retried before it counts as lost (default 30 s). */
  objectFetchTimeoutMs?: number;
  /** How long a request waits for the head while it is unreachable (default 60 s). */
  headRequestTimeoutMs?: number;
}

export interface NodeOptions {
  /** Node id (default `node-<index>`). */
  name?: string;
  /** e.g. `{ CPU: 2, GPU: 4 }`; GPUs are logical unless `gpuIds` maps them to devices. */
  resources: Resources;
  /** Device id of each GPU of this node, for `CUDA_VISIBLE_DEVICES` (default `0..GPU-1`). */
  gpuIds?: string[];
}

export interface ObjectStoreOptions {
  /** Shared-memory directory (default `/dev/shm`). */
  directory?: string;
  /** Bytes of objects kept in shared memory before new objects spill (default 30% of RAM, at most 8 GiB). */
  memoryBytes?: number;
  /** Where objects go when shared memory is full (default: the OS temp directory). */
  spillDirectory?: string;
  /** File-system size probe, injectable for tests. */
  statfs?: StatFs;
}

/** Options of `createActor`. */
export interface ActorOptions<C extends ActorClass = ActorClass> {
  /** The module exporting the class: `new URL('./policy-actor.ts', import.meta.url)` or an absolute path. */
  module: string | URL;
  /** Name of the exported class. */
  exportName: string;
  /** Constructor arguments (plain data, typed arrays, actor handles). */
  args?: ConstructorParameters<C>;
  /** Registers the actor under `namespace/name` so others can find it with `getActor`. */
  name?: string;
  namespace?: string;
  /** Role in logs and errors (default: the export name), e.g. `policy`. */
  role?: string;
  /** Default `{ CPU: 1 }`; CPU is never below 0.01. */
  resources?: Resources;
  placementGroup?: PlacementGroup;
  /** Bundle of `placementGroup` to run in (default: any bundle with room). */
  bundleIndex?: number;
  /** Times the process is restarted (constructor re-run) after it dies unexpectedly (default 0). */
  maxRestarts?: number;
  /** Times a call interrupted by the actor's death is sent again to the restarted actor (default 0). */
  maxTaskRetries?: number;
  /** Calls running at once in the default group (default 1: one call at a time, in order). */
  maxConcurrency?: number;
  /** Extra groups: `{ io: { maxConcurrency: 4, methods: ['upload'] } }`. `health` always exists. */
  concurrencyGroups?: Record<string, { maxConcurrency: number; methods?: string[] }>;
  /** Outlives its creator; must be named; reaped after `ttlMs` without calls (default one hour). */
  detached?: boolean;
  ttlMs?: number;
  /** Extra environment variables for the worker process. */
  env?: Record<string, string>;
  /** Extra Node flags for the worker process. */
  execArgv?: string[];
}

export const DEFAULT_DETACHED_TTL_MS = 60 * 60 * 1000;

/** Validate actor options (collecting every problem) and build the wire spec. */
export function actorSpec(options: ActorOptions, args: EncodedValue, defaultNamespace: string | undefined, path = 'actor'): ActorCreateSpec {
  const issues: { path: string; message: string }[] = [];
  const count = (field: keyof ActorOptions, fallback: number, minimum: number): number => {
    const value = options[field] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
      issues.push({ path: `${path}.${field}`, message: `must be an integer >= ${minimum}, got ${JSON.stringify(value)}` });
      return fallback;
    }
    return value;
  };
  if (typeof options.exportName !== 'string' || options.exportName === '') issues.push({ path: `${path}.exportName`, message: 'must name the exported class' });
  const maxRestarts = count('maxRestarts', 0, 0);
  const maxTaskRetries = count('maxTaskRetries', 0, 0);
  const maxConcurrency = count('maxConcurrency', 1, 1);
  const groups: ActorCreateSpec['concurrencyGroups'] = {};
  for (const [name, group] of Object.entries(options.concurrencyGroups ?? {})) {
    if (!Number.isInteger(group.maxConcurrency) || group.maxConcurrency < 1) {
      issues.push({ path: `${path}.concurrencyGroups.${name}.maxConcurrency`, message: `must be an integer >= 1, got ${JSON.stringify(group.maxConcurrency)}` });
    }
    if (name === 'default') issues.push({ path: `${path}.concurrencyGroups.default`, message: 'the default group is sized by maxConcurrency' });
    groups[name] = { maxConcurrency: group.maxConcurrency, methods: group.methods ?? [] };
  }
  const detached = options.detached ?? false;
  if (detached && options.name === undefined) issues.push({ path: `${path}.name`, message: 'a detached actor must be named (otherwise nobody can find it again)' });
  const ttlMs = options.ttlMs ?? (detached ? DEFAULT_DETACHED_TTL_MS : undefined);
  if (ttlMs !== undefined && !(ttlMs > 0)) issues.push({ path: `${path}.ttlMs`, message: `must be > 0 ms, got ${ttlMs}` });
  if (options.ttlMs !== undefined && !detached) issues.push({ path: `${path}.ttlMs`, message: 'only detached actors have a TTL (others die with their owner)' });
  if (options.bundleIndex !== undefined && options.placementGroup === undefined) issues.push({ path: `${path}.bundleIndex`, message: 'needs placementGroup' });
  const namespace = options.namespace ?? defaultNamespace;
  if (options.name !== undefined && namespace === undefined) {
    issues.push({ path: `${path}.namespace`, message: `actor '${options.name}' is named, so it needs a namespace (there is no default namespace): pass namespace or Runtime.start({ namespace })` });
  }
  let resources: Resources = { CPU: 1 };
  try {
    resources = actorResources(options.resources, `${path}.resources`);
  } catch (error) {
    if (error instanceof ConfigError) issues.push(...error.issues);
    else throw error;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    module: options.module instanceof URL ? options.module.href : options.module,
    exportName: options.exportName,
    args,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(namespace === undefined ? {} : { namespace }),
    role: options.role ?? options.exportName,
    resources,
    ...(options.placementGroup === undefined ? {} : { placementGroupId: options.placementGroup.id }),
    ...(options.bundleIndex === undefined ? {} : { bundleIndex: options.bundleIndex }),
    maxRestarts,
    maxTaskRetries,
    maxConcurrency,
    concurrencyGroups: groups,
    detached,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    env: options.env ?? {},
    execArgv: options.execArgv ?? [],
  };
}

/** The nodes to start: the user's logical nodes, or this machine as one node. */
export function resolveNodes(nodes: NodeOptions[] | undefined): { nodeId: string; resources: Resources; gpuIds?: string[] }[] {
  if (nodes === undefined) {
    const gpuIds = detectGpus();
    return [{ nodeId: 'node-0', resources: { CPU: availableParallelism(), GPU: gpuIds.length, memory: Math.floor(totalmem() * 0.7) }, gpuIds }];
  }
  if (!Array.isArray(nodes) || nodes.length === 0) throw new ConfigError([{ path: 'nodes', message: 'must list at least one node, e.g. [{ resources: { CPU: 2 } }]' }]);
  const seen = new Set<string>();
  return nodes.map((node, index) => {
    const nodeId = node.name ?? `node-${index}`;
    const resources = validateResources(node.resources, `nodes[${index}].resources`);
    if (seen.has(nodeId)) throw new ConfigError([{ path: `nodes[${index}].name`, message: `duplicate node name '${nodeId}'` }]);
    seen.add(nodeId);
    const gpus = resources.GPU ?? 0;
    if (!Number.isInteger(gpus)) throw new ConfigError([{ path: `nodes[${index}].resources.GPU`, message: `a node has whole GPUs, got ${gpus}` }]);
    if (node.gpuIds !== undefined && node.gpuIds.length !== gpus) {
      throw new ConfigError([{ path: `nodes[${index}].gpuIds`, message: `lists ${node.gpuIds.length} devices but the node has GPU: ${gpus}` }]);
    }
    return { nodeId, resources, ...(node.gpuIds === undefined ? {} : { gpuIds: node.gpuIds }) };
  });
}

/** GPUs this process may use: `CUDA_VISIBLE_DEVICES` when set, else the NVIDIA driver's device list. */
function detectGpus(): string[] {
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) return visible.split(',').map((id) => id.trim()).filter((id) => id !== '' && id !== '-1');
  const directory = '/proc/driver/nvidia/gpus';
  if (!existsSync(directory)) return [];
  return readdirSync(directory).map((_, index) => String(index));
}

export function defaultObjectStoreBytes(): number {
  return Math.min(Math.floor(totalmem() * 0.3), 8 * 2 ** 30);
}
