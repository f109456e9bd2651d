/**
 * Real etcd for tests and benches (Debian's `etcd-server`, never a stand-in): one member on loopback for the control store's
 * contract tests, or three members on network-namespace hosts for the head fail-over tests, each member on its own
 * host as in production, so that a head and the etcd member on its machine are separate failures. Every member has
 * a temporary data directory and is SIGKILLed and removed by `stop()` (call it in `afterAll`) and on process exit.
 *
 * ```
 *   single:  127.0.0.1:<random client port>   (peer port random too)
 *   three:   <host i>:2379 for clients, :2380 for peers, i = 0..2, one `--initial-cluster` of all three
 * ```
 *
 * Tests and benches share it (`test/cluster/etcd-harness.ts` says whether tests can run here: `etcdAvailable()`).
 *
 * @example
 * const etcd = await startLocalEtcd();
 * const client = new Etcd3({ hosts: etcd.endpoints });
 * await etcd.stop();
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import type { NetnsCluster, NetnsHost } from './netns.ts';

export interface EtcdCluster {
  /** Client URLs of every member, e.g. `http://198.18.4.1:2379`. */
  endpoints: string[];
  members: ChildProcess[];
  /** SIGKILL every member and delete the data directories. Idempotent. */
  stop(): Promise<void>;
}

/** A port nothing listens on now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The flags of one member; `--log-level warn` keeps test output small (etcd 3.4 logs every request at info). */
function memberArguments(name: string, dataDirectory: string, host: string, clientPort: number, peerPort: number, initialCluster: string, clusterToken: string): string[] {
  return [
    '--name', name, '--data-dir', dataDirectory,
    '--listen-client-urls', `http://${host}:${clientPort}`, '--advertise-client-urls', `http://${host}:${clientPort}`,
    '--listen-peer-urls', `http://${host}:${peerPort}`, '--initial-advertise-peer-urls', `http://${host}:${peerPort}`,
    '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', clusterToken,
    '--logger', 'zap', '--log-level', 'warn',
  ];
}

/** Resolves once the cluster answers a linearizable read (it has a leader), or rejects after `timeoutMs`. */
async function waitHealthy(endpoints: string[], members: ChildProcess[], timeoutMs = 30_000): Promise<void> {
  const client = new Etcd3({ hosts: endpoints, dialTimeout: 1_000 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const exited = members.find((member) => member.exitCode !== null || member.signalCode !== null);
      if (exited) throw new Error(`an etcd member exited (${exited.signalCode ?? exited.exitCode}) before the cluster was up`);
      try {
        await client.get('health-probe').string();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`etcd at ${endpoints.join(',')} did not become healthy within ${timeoutMs} ms: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.close();
  }
}

function collectOutput(child: ChildProcess, label: string): void {
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
    if (process.env.POSTTRAIN_CLUSTER_TEST_LOGS) process.stderr.write(`[${label}] ${chunk.toString('utf8')}`);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', (code, signal) => {
    if (signal !== 'SIGKILL' && code !== 0) process.stderr.write(`[${label}] exited (${signal ?? code}); last lines:\n${lines.slice(-20).join('\n')}\n`);
  });
}

function makeCluster(members: ChildProcess[], endpoints: string[], directories: string[]): EtcdCluster {
  for (const member of members) {
    running.add(member);
    member.once('exit', () => running.delete(member));
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoints,
    members,
    stop() {
      stopped ??= (async () => {
        await Promise.all(
          members.map((member) => {
            if (member.exitCode !== null || member.signalCode !== null) return undefined;
            const exited = new Promise((resolve) => member.once('exit', resolve));
            member.kill('SIGKILL');
            return exited;
          }),
        );
        for (const directory of directories) rmSync(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** One etcd member on loopback, random ports, a temporary data directory. */
export async function startLocalEtcd(): Promise<EtcdCluster> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const directory = mkdtempSync(path.join(tmpdir(), 'posttrain-etcd-'));
  const member = spawn('etcd', memberArguments('single', path.join(directory, 'data'), '127.0.0.1', clientPort, peerPort, `single=http://127.0.0.1:${peerPort}`, path.basename(directory)), { stdio: ['ignore', 'pipe', 'pipe'] });
  collectOutput(member, 'etcd');
  const cluster = makeCluster([member], [`http://127.0.0.1:${clientPort}`], [directory]);
  try {
    await waitHealthy(cluster.endpoints, cluster.members);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/**
 * Three members, one per namespace host (each a machine of its own address): the quorum survives any one of them,
 * and the heads reach them over the bridge as they would over a network. The members are the net's processes
 * too, so `net.destroy()` kills them if `stop()` is never reached.
 */
export async function startEtcdCluster(net: NetnsCluster, hosts: NetnsHost[]): Promise<EtcdCluster> {
  if (hosts.length !== 3) throw new RangeError(`a three-member etcd cluster needs 3 hosts, got ${hosts.length}`);
  const directory = mkdtempSync(path.join(tmpdir(), 'posttrain-etcd-'));
  const name = (host: NetnsHost) => `etcd-${host.index}`;
  const initialCluster = hosts.map((host) => `${name(host)}=http://${host.address}:2380`).join(',');
  const members = hosts.map((host) => {
    const member = net.spawn(host, 'etcd', memberArguments(name(host), path.join(directory, name(host)), host.address, 2379, 2380, initialCluster, path.basename(directory)), { stdio: ['ignore', 'pipe', 'pipe'] });
    collectOutput(member, name(host));
    return member;
  });
  const cluster = makeCluster(members, hosts.map((host) => `http://${host.address}:2379`), [directory]);
  try {
    await waitHealthy(cluster.endpoints, members);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
