/**
 * A real posttrain cluster on one machine, for tests: the head and each node agent run through the `recipe cluster`
 * CLI, each in its own network namespace (own address, veth to a private bridge, see `deploy/dev-cluster/netns.ts`), and the test
 * process joins the bridge as the driver. Processes are spawned in their own process groups so that a node can be
 * SIGKILLed together with its workers, and everything is torn down by `destroy()` (and by the netns harness's exit
 * handlers when a test run dies).
 *
 * ```
 *   h0: head (198.18.n.1:6380, SQLite state in a temp directory)
 *   h1: node agent node-0        h2: node agent node-1        test process: driver (198.18.n.254)
 * ```
 *
 * @example
 * const cluster = await startTestCluster({ nodes: [{ name: 'node-0', resources: { CPU: 2 } }, { name: 'node-1', resources: { CPU: 2 } }] });
 * const runtime = await cluster.driver({ namespace: 'test' });
 * cluster.destroy();
 */
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach } from 'vitest';
import { Runtime, type RuntimeOptions } from '../../runtime/index.ts';
import { makeTestCertificates } from '../runtime/certificates.ts';
import { createNetnsCluster, type NetnsCluster, type NetnsHost } from '../../deploy/dev-cluster/netns.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const recipe = path.join(repositoryRoot, 'bin', 'recipe.js');

export interface TestNode {
  name: string;
  resources: Record<string, number>;
}

export interface TestClusterOptions {
  nodes: TestNode[];
  /** Short timers keep failure tests fast: heartbeat 200 ms, node timeout 2.5 s, driver timeout 5 s, keepalive 1 s. */
  heartbeatMs?: number;
  nodeTimeoutMs?: number;
  driverTimeoutMs?: number;
  keepaliveMs?: number;
  /** Mutual TLS everywhere, with certificates made by `openssl` for this run (valid for every host's address). */
  tls?: boolean;
}

/** One process of the cluster with every JSON log line it wrote. */
export interface ClusterProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  /** Resolves with the first log line that `match` accepts (rejects if the process exits first). */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export interface TestCluster {
  net: NetnsCluster;
  token: string;
  /** The TLS files every process uses (with `tls: true`). */
  tls: { certFile: string; keyFile: string; caFile: string; requireClientCertificate: boolean } | undefined;
  /** `host:port` of the head. */
  headAddress: string;
  head: ClusterProcess | undefined;
  nodes: Map<string, { host: NetnsHost; process: ClusterProcess | undefined }>;
  /** Start (or restart, on the same state file) the head; resolves once it listens. */
  startHead(): Promise<ClusterProcess>;
  /** Start node `name` and wait until it has registered. */
  startNode(name: string): Promise<ClusterProcess>;
  /** Kill a process group: the head, or a node agent with all its workers. Resolves when the leader is gone. */
  kill(target: ClusterProcess | undefined, signal?: NodeJS.Signals): Promise<void>;
  /** A driver in the test process (`Runtime.start({ address })`). */
  driver(options?: RuntimeOptions): Promise<Runtime>;
  destroy(): void;
}

/** Collect a cluster process's JSON log lines (stdout and stderr) and let a test wait for one. */
export function watch(child: ChildProcess, label: string): ClusterProcess {
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }>();
  let partial = '';
  const take = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(part) as Record<string, unknown>;
      } catch {
        line = { msg: part, raw: true };
      }
      lines.push(line);
      if (process.env.POSTTRAIN_CLUSTER_TEST_LOGS) process.stderr.write(`[${label}] ${part}\n`);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return {
    child,
    lines,
    waitForLine(match, timeoutMs = 60_000) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (line: Record<string, unknown>) => (clearTimeout(timer), resolve(line)) };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${label}: no matching log line within ${timeoutMs} ms; last lines:\n${lines.slice(-15).map((line) => JSON.stringify(line)).join('\n')}`));
        }, timeoutMs);
        waiters.add(waiter);
        child.once('exit', (code, signal) => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new Error(`${label} exited (${signal ?? code}) before the expected log line; last lines:\n${lines.slice(-15).map((line) => JSON.stringify(line)).join('\n')}`));
        });
      });
    },
  };
}

/** Build the namespaces, start the head and every node, and wait until all nodes have registered. */
export async function startTestCluster(options: TestClusterOptions): Promise<TestCluster> {
  const net = createNetnsCluster({ hosts: 1 + options.nodes.length, attachTestProcess: true });
  const state = mkdtempSync(path.join(tmpdir(), 'posttrain-head-'));
  const token = randomBytes(24).toString('hex');
  const headHost = net.hosts[0] as NetnsHost;
  const keepalive = String(options.keepaliveMs ?? 1_000);
  const certificates = options.tls ? makeTestCertificates([...net.hosts.map((host) => host.address), net.testAddress as string]) : undefined;
  const tls = certificates ? { certFile: certificates.certFile, keyFile: certificates.keyFile, caFile: certificates.caFile, requireClientCertificate: true } : undefined;
  const tlsEnv = tls ? { POSTTRAIN_TLS_CERT: tls.certFile, POSTTRAIN_TLS_KEY: tls.keyFile, POSTTRAIN_TLS_CA: tls.caFile, POSTTRAIN_TLS_CLIENT_AUTH: '1' } : {};
  const env = { ...process.env, ...tlsEnv, POSTTRAIN_TOKEN: token, POSTTRAIN_LOG_LEVEL: 'info', POSTTRAIN_LOG_FORMAT: 'json' };
  delete (env as Record<string, string | undefined>).VITEST;
  const spawnInHost = (host: NetnsHost, args: string[], label: string): ClusterProcess =>
    watch(net.spawn(host, process.execPath, [recipe, ...args], { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }), label);

  const cluster: TestCluster = {
    net,
    token,
    tls,
    headAddress: `${headHost.address}:6380`,
    head: undefined,
    nodes: new Map(options.nodes.map((node, index) => [node.name, { host: net.hosts[index + 1] as NetnsHost, process: undefined }])),
    async startHead() {
      const head = spawnInHost(
        headHost,
        [
          'cluster', 'start', '--head', '--host', headHost.address, '--port', '6380', '--state', path.join(state, 'head.sqlite'),
          '--heartbeat-ms', String(options.heartbeatMs ?? 200), '--node-timeout-ms', String(options.nodeTimeoutMs ?? 2_500),
          '--driver-timeout-ms', String(options.driverTimeoutMs ?? 5_000), '--keepalive-ms', keepalive,
        ],
        'head',
      );
      cluster.head = head;
      await head.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('head listening on'));
      return head;
    },
    async startNode(name) {
      const entry = cluster.nodes.get(name);
      const node = options.nodes.find((candidate) => candidate.name === name);
      if (!entry || !node) throw new Error(`no node ${name} in this test cluster`);
      const { CPU, GPU, memory, ...custom } = node.resources;
      const agent = spawnInHost(
        entry.host,
        [
          'cluster', 'join', cluster.headAddress, '--host', entry.host.address, '--node-name', name, '--num-cpus', String(CPU ?? 1),
          '--num-gpus', String(GPU ?? 0), '--memory', String(memory ?? 2 ** 30), '--resources', JSON.stringify(custom),
          '--object-store-memory', String(2 ** 30), '--keepalive-ms', keepalive,
        ],
        name,
      );
      entry.process = agent;
      await agent.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith(`registered with the head as ${name}`));
      return agent;
    },
    async kill(target, signal = 'SIGKILL') {
      const child = target?.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        child.kill(signal);
      }
      await exited;
    },
    driver(driverOptions = {}) {
      return Runtime.start({
        address: cluster.headAddress,
        host: net.testAddress as string,
        token,
        clusterTimeouts: { keepaliveMs: Number(keepalive), keepaliveTimeoutMs: Number(keepalive), objectFetchTimeoutMs: 5_000, headRequestTimeoutMs: 30_000 },
        ...(tls ? { tls } : {}),
        ...driverOptions,
      });
    },
    destroy() {
      for (const process of [cluster.head, ...[...cluster.nodes.values()].map((node) => node.process)]) {
        const pid = process?.child.pid;
        if (pid === undefined || process?.child.exitCode !== null || process.child.signalCode !== null) continue;
        try {
          globalThis.process.kill(-pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      net.destroy();
      rmSync(state, { recursive: true, force: true });
      certificates?.remove();
    },
  };
  try {
    await cluster.startHead();
    await Promise.all(options.nodes.map((node) => cluster.startNode(node.name)));
  } catch (error) {
    cluster.destroy();
    throw error;
  }
  return cluster;
}

/**
 * When a test of this file fails, print the last log lines of the head and every node agent (their workers' lines
 * included): a hang seen once in CI is otherwise only "Test timed out".
 */
export function printClusterLogsOnFailure(current: () => TestCluster | undefined, count = 30): void {
  beforeEach((context) => {
    context.onTestFailed(() => {
      const cluster = current();
      if (!cluster) return;
      const processes: [string, ClusterProcess | undefined][] = [['head', cluster.head], ...[...cluster.nodes].map(([name, node]): [string, ClusterProcess | undefined] => [name, node.process])];
      const report = processes
        .filter((entry): entry is [string, ClusterProcess] => entry[1] !== undefined)
        .map(([name, process]) => `--- ${name}, last ${count} lines ---\n${process.lines.slice(-count).map((line) => JSON.stringify(line)).join('\n')}`);
      console.error(`cluster logs at the failure of "${context.task.name}":\n${report.join('\n')}`);
    });
  });
}
