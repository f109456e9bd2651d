/**
 * Several hosts on one machine: each host is a Linux network namespace with its own address, wired by a veth pair
 * to a bridge that lives in a namespace of its own (the "switch"). Nothing is connected to the machine's real
 * network, so test traffic cannot leave the bridge; addresses come from 198.18.0.0/15, the range reserved for
 * benchmarking (RFC 2544), so they can never be mistaken for real hosts. With `attachTestProcess`, the machine's
 * own namespace gets one more port on the bridge (`198.18.<n>.254` on a /24 of the cluster's own), so that a test
 * can be a cluster driver itself; the hosts still have no route anywhere but their /24.
 *
 * ```
 *   <prefix>-h0 (198.18.0.1) eth0 ──veth── h0 ┐
 *   <prefix>-h1 (198.18.0.2) eth0 ──veth── h1 ├─ br0 in <prefix>-sw
 *   <prefix>-h2 (198.18.0.3) eth0 ──veth── h2 ┘
 * ```
 *
 * Every namespace name starts with `ptc-<pid in base 36>-<random>-`, unique per run. Teardown deletes everything
 * the run created; it runs from `destroy()` (call it in `afterAll`), on process exit, on SIGINT/SIGTERM, and, for runs
 * that were SIGKILLed, at the next start: namespaces whose creating process is gone are deleted then.
 *
 * Needs root (CAP_NET_ADMIN) and `ip` from iproute2. `netnsSupport()` says whether both are there; tests fail when
 * `CI=true` and skip with a loud warning otherwise (see `describeWithNetns`).
 *
 * @example
 * const cluster = createNetnsCluster({ hosts: 2 });
 * const child = cluster.spawn(cluster.hosts[1], process.execPath, ['server.js'], { stdio: 'inherit' });
 * cluster.linkDown(cluster.hosts[1]);   // partition host 1
 * cluster.destroy();
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Prefix of every namespace any run of this harness creates. */
export const NAMESPACE_PREFIX = 'ptc-';

export interface NetnsHost {
  index: number;
  /** Namespace name, e.g. `ptc-k3x9-a1b2-h1`. */
  namespace: string;
  /** IPv4 address on the bridge, e.g. `198.18.0.2`. */
  address: string;
}

export interface NetnsCluster {
  /** Unique to this cluster, e.g. `ptc-k3x9-a1b2`. */
  readonly prefix: string;
  readonly hosts: NetnsHost[];
  /** The /24 the hosts live in, e.g. `198.18.0.0/24`. */
  readonly subnet: string;
  /**
   * With `attachTestProcess`: this machine's own address on the bridge (`198.18.<n>.254`), so that the test process
   * itself (a driver) can talk to the hosts without running inside a namespace. Undefined otherwise.
   */
  readonly testAddress: string | undefined;
  /** Start `command` inside `host`'s namespace (`ip netns exec`); the child is killed at teardown. */
  spawn(host: NetnsHost, command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Run `command` inside `host`'s namespace and return its stdout. */
  execSync(host: NetnsHost, command: string, args: string[]): string;
  /** Cut `host` off the bridge (its cable is pulled: packets are dropped, connections stay open and stall). */
  linkDown(host: NetnsHost): void;
  /** Plug `host` back in. */
  linkUp(host: NetnsHost): void;
  /** Kill the cluster's processes and delete its namespaces (and with them every veth and the bridge). Idempotent. */
  destroy(): void;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Whether this process can build namespaces: `ip` is installed and we may create a namespace. */
export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  try {
    ip(['-V']);
  } catch {
    return { ok: false, reason: '`ip` (iproute2) is not installed: apt-get install iproute2' };
  }
  const probe = `${NAMESPACE_PREFIX}${process.pid.toString(36)}-probe`;
  try {
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot create network namespaces (needs root / CAP_NET_ADMIN): ${(error as Error).message.split('\n')[0]}` };
  }
}

/** Names of our namespaces on this machine. */
export function listOurNamespaces(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NAMESPACE_PREFIX));
}

/**
 * Delete namespaces left by runs whose process no longer exists (a SIGKILLed test run cannot clean up after itself).
 * Namespaces of runs still alive (another test file running in parallel) are left alone. Returns what was deleted.
 */
export function cleanupStaleNamespaces(): string[] {
  const deleted: string[] = [];
  for (const name of listOurNamespaces()) {
    const owner = Number.parseInt(name.slice(NAMESPACE_PREFIX.length).split('-')[0] ?? '', 36);
    if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) continue;
    if (owner === process.pid && liveClusters.some((cluster) => name.startsWith(`${cluster.prefix}-`))) continue;
    try {
      ip(['netns', 'del', name]);
      deleted.push(name);
    } catch {
      // Deleted meanwhile by its owner.
    }
  }
  return deleted;
}

/** A /24 in 198.18.1-250.0 that no interface of this machine's namespace uses yet. */
function freeSubnet(): number {
  const used = ip(['-4', '-o', 'addr', 'show']);
  for (let attempt = 0; attempt < 500; attempt++) {
    const third = 1 + Math.floor(Math.random() * 250);
    if (!used.includes(` 198.18.${third}.`)) return third;
  }
  throw new Error('no free 198.18.x.0/24 left for another attached test cluster');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const liveClusters: NetnsCluster[] = [];
/** What `destroyAtExit` still has to destroy, oldest first. */
const pendingAtExit: { destroy(): void }[] = [];
let exitHandlersInstalled = false;

/**
 * Destroys `resource` if the process exits, or is stopped by SIGINT or SIGTERM, before it was destroyed: a test
 * run that dies leaves no namespace or daemon behind. Newest first, so a harness built on namespaces (Slurm's)
 * stops its daemons before they go. Returns the function that forgets it (call it from `destroy`).
 */
export function destroyAtExit(resource: { destroy(): void }): () => void {
  installExitHandlers();
  pendingAtExit.push(resource);
  return () => {
    const index = pendingAtExit.indexOf(resource);
    if (index >= 0) pendingAtExit.splice(index, 1);
  };
}

function destroyPending(): void {
  for (const resource of [...pendingAtExit].reverse()) resource.destroy();
}

function installExitHandlers(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  process.on('exit', destroyPending);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      destroyPending();
      process.off(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

/**
 * Build `hosts` hosts on one bridge. Stale namespaces from dead runs are removed first. If any step fails, what
 * was built is deleted before the error is thrown.
 */
export function createNetnsCluster(options: { hosts: number; attachTestProcess?: boolean }): NetnsCluster {
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > 250) {
    throw new RangeError(`hosts must be an integer from 1 to 250, got ${options.hosts}`);
  }
  cleanupStaleNamespaces();
  const prefix = `${NAMESPACE_PREFIX}${process.pid.toString(36)}-${randomBytes(2).toString('hex')}`;
  const switchNamespace = `${prefix}-sw`;
  // An attached cluster gets a /24 of its own (the machine's namespace gets a route to it, so two attached
  // clusters, e.g. of two test files running at once, must not share one); others all use 198.18.0.0/24.
  const third = options.attachTestProcess ? freeSubnet() : 0;
  const hosts: NetnsHost[] = Array.from({ length: options.hosts }, (_, index) => ({
    index,
    namespace: `${prefix}-h${index}`,
    address: `198.18.${third}.${index + 1}`,
  }));
  const testAddress = options.attachTestProcess ? `198.18.${third}.254` : undefined;
  const children = new Set<ChildProcess>();
  const created: string[] = [];
  let localLink: string | undefined;
  let destroyed = false;

  const cluster: NetnsCluster = {
    prefix,
    hosts,
    subnet: `198.18.${third}.0/24`,
    testAddress,
    spawn(host, command, args, spawnOptions = {}) {
      const child = spawn('ip', ['netns', 'exec', host.namespace, command, ...args], spawnOptions);
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    execSync(host, command, args) {
      return execFileSync('ip', ['netns', 'exec', host.namespace, command, ...args], { encoding: 'utf8' });
    },
    linkDown(host) {
      ip(['-n', switchNamespace, 'link', 'set', `h${host.index}`, 'down']);
    },
    linkUp(host) {
      ip(['-n', switchNamespace, 'link', 'set', `h${host.index}`, 'up']);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const child of children) child.kill('SIGKILL');
      // Namespaces are freed asynchronously by the kernel; this machine's end of the veth goes now.
      if (localLink !== undefined) {
        try {
          ip(['link', 'del', localLink]);
        } catch {
          // Already gone with its peer.
        }
      }
      for (const name of [...created].reverse()) {
        try {
          ip(['netns', 'del', name]);
        } catch {
          // Already gone; keep deleting the rest.
        }
      }
      liveClusters.splice(liveClusters.indexOf(cluster), 1);
      forget();
    },
  };
  liveClusters.push(cluster);
  const forget = destroyAtExit(cluster);

  try {
    ip(['netns', 'add', switchNamespace]);
    created.push(switchNamespace);
    ip(['-n', switchNamespace, 'link', 'set', 'lo', 'up']);
    ip(['-n', switchNamespace, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', switchNamespace, 'link', 'set', 'br0', 'up']);
    for (const host of hosts) {
      ip(['netns', 'add', host.namespace]);
      created.push(host.namespace);
      // Both ends are created directly inside their namespaces: nothing ever appears in the machine's own.
      ip(['link', 'add', 'eth0', 'netns', host.namespace, 'type', 'veth', 'peer', 'name', `h${host.index}`, 'netns', switchNamespace]);
      ip(['-n', switchNamespace, 'link', 'set', `h${host.index}`, 'master', 'br0']);
      ip(['-n', switchNamespace, 'link', 'set', `h${host.index}`, 'up']);
      ip(['-n', host.namespace, 'link', 'set', 'lo', 'up']);
      ip(['-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
      ip(['-n', host.namespace, 'link', 'set', 'eth0', 'up']);
    }
    if (testAddress !== undefined) {
      // One veth from this machine's namespace to the bridge; it dies with the switch namespace at teardown.
      const local = `ptc${randomBytes(4).toString('hex')}`;
      ip(['link', 'add', local, 'type', 'veth', 'peer', 'name', 'test', 'netns', switchNamespace]);
      localLink = local;
      ip(['-n', switchNamespace, 'link', 'set', 'test', 'master', 'br0']);
      ip(['-n', switchNamespace, 'link', 'set', 'test', 'up']);
      ip(['addr', 'add', `${testAddress}/24`, 'dev', local]);
      ip(['link', 'set', local, 'up']);
    }
  } catch (error) {
    cluster.destroy();
    throw error;
  }
  return cluster;
}
