import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStaleNamespaces, createNetnsCluster, listOurNamespaces, type NetnsCluster, type NetnsHost } from '../../deploy/dev-cluster/netns.ts';
import { netnsAvailable } from './netns-support.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Start a TCP server in `host` that answers each connection with the client's address. */
function startEchoServer(cluster: NetnsCluster, host: NetnsHost): Promise<ChildProcess> {
  const script = `require('net').createServer((s) => s.end(s.remoteAddress)).listen(7000, '${host.address}', () => console.log('listening'))`;
  const child = cluster.spawn(host, process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
}

/** From `from`, connect to `to`:7000 and return what it answered, or `unreachable` after `timeoutMs`. */
function connectFrom(cluster: NetnsCluster, from: NetnsHost, to: NetnsHost, timeoutMs: number): string {
  const script =
    `const s = require('net').connect(7000, '${to.address}'); let out = '';` +
    `s.on('data', (d) => (out += d)); s.on('end', () => { console.log(out); process.exit(0); });` +
    `s.on('error', () => { console.log('unreachable'); process.exit(0); });` +
    `setTimeout(() => { console.log('unreachable'); process.exit(0); }, ${timeoutMs});`;
  return cluster.execSync(from, process.execPath, ['-e', script]).trim();
}

describe.skipIf(!netnsAvailable())('network-namespace hosts', () => {
  let cluster: NetnsCluster;

  beforeAll(() => {
    cluster = createNetnsCluster({ hosts: 3 });
  });
  afterAll(() => {
    cluster?.destroy();
  });

  it('gives every host its own 198.18.0.0/15 address, reachable from the other hosts', async () => {
    const [first, second, third] = cluster.hosts as [NetnsHost, NetnsHost, NetnsHost];
    const server = await startEchoServer(cluster, second);
    expect(connectFrom(cluster, first, second, 5_000)).toBe(first.address);
    expect(connectFrom(cluster, third, second, 5_000)).toBe(third.address);
    server.kill();
  });

  it('routes nothing beyond the bridge: no host has a default route', () => {
    for (const host of cluster.hosts) {
      const routes = cluster.execSync(host, 'ip', ['-4', 'route', 'show']).trim().split('\n');
      expect(routes).toEqual([`198.18.0.0/24 dev eth0 proto kernel scope link src ${host.address}`]);
    }
  });

  it('linkDown partitions a host and linkUp heals it', async () => {
    const [first, second] = cluster.hosts as [NetnsHost, NetnsHost];
    const server = await startEchoServer(cluster, second);
    cluster.linkDown(second);
    expect(connectFrom(cluster, first, second, 1_000)).toBe('unreachable');
    cluster.linkUp(second);
    expect(connectFrom(cluster, first, second, 10_000)).toBe(first.address);
    server.kill();
  });

  it('deletes stale namespaces of dead runs at start and leaves those of live runs alone', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const live = cluster.spawn(cluster.hosts[0] as NetnsHost, 'sleep', ['30']);
    const staleName = `ptc-${dead.toString(36)}-dead-h0`;
    const liveName = `ptc-${(live.pid as number).toString(36)}-live-h0`;
    execFileSync('ip', ['netns', 'add', staleName]);
    execFileSync('ip', ['netns', 'add', liveName]);
    try {
      const deleted = cleanupStaleNamespaces();
      expect(deleted).toContain(staleName);
      expect(deleted).not.toContain(liveName);
      expect(listOurNamespaces()).toContain(liveName);
      expect(listOurNamespaces()).toContain(`${cluster.prefix}-sw`);
    } finally {
      live.kill('SIGKILL');
      spawnSync('ip', ['netns', 'del', liveName]);
      spawnSync('ip', ['netns', 'del', staleName]);
    }
  });

  it('tears everything down when the process using it fails with an uncaught error', () => {
    const script =
      "import { createNetnsCluster } from './deploy/dev-cluster/netns.ts';" +
      'const cluster = createNetnsCluster({ hosts: 2 }); console.log(cluster.prefix); throw new Error("a failing test");';
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repositoryRoot, encoding: 'utf8' });
    const prefix = run.stdout.trim();
    expect(prefix).toMatch(/^ptc-[0-9a-z]+-[0-9a-f]{4}$/);
    expect(run.status).not.toBe(0);
    expect(listOurNamespaces().filter((name) => name.startsWith(prefix))).toEqual([]);
  });

  it('tears everything down when the process using it is stopped with SIGTERM', async () => {
    const script =
      "import { createNetnsCluster } from './deploy/dev-cluster/netns.ts';" +
      'const cluster = createNetnsCluster({ hosts: 2 }); console.log(cluster.prefix); setInterval(() => {}, 1000);';
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const prefix = await new Promise<string>((resolve) => child.stdout.once('data', (data: Buffer) => resolve(data.toString().trim())));
    expect(listOurNamespaces().filter((name) => name.startsWith(prefix))).toHaveLength(3);
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(listOurNamespaces().filter((name) => name.startsWith(prefix))).toEqual([]);
  });

  it('attachTestProcess puts this process on a bridge of its own /24, reachable both ways, and removes it at teardown', async () => {
    const attached = createNetnsCluster({ hosts: 1, attachTestProcess: true });
    try {
      const [host] = attached.hosts as [NetnsHost];
      expect(attached.testAddress).toMatch(/^198\.18\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|250)\.254$/);
      expect(attached.subnet).toBe(`${host.address.split('.').slice(0, 3).join('.')}.0/24`);
      const server = await startEchoServer(attached, host);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(7000, host.address);
        let out = '';
        socket.on('data', (data: Buffer) => (out += data));
        socket.on('end', () => resolve(out));
        socket.on('error', reject);
      });
      expect(answer).toBe(attached.testAddress);
      server.kill();
    } finally {
      attached.destroy();
    }
    expect(execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' })).not.toContain(attached.testAddress);
  });

  it('destroy kills the processes it started and deletes every namespace it created', async () => {
    const own = createNetnsCluster({ hosts: 2 });
    const child = own.spawn(own.hosts[0] as NetnsHost, 'sleep', ['30']);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    expect(listOurNamespaces().filter((name) => name.startsWith(own.prefix))).toHaveLength(3);
    own.destroy();
    await exited;
    expect(listOurNamespaces().filter((name) => name.startsWith(own.prefix))).toEqual([]);
  });
});
