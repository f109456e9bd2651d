/**
 * `npm run bench -- head-takeover [--repeats 3] [--lease-ttl 2]`: how long a cluster is without a head when the
 * leader head is SIGKILLed and a standby takes over through etcd (`recipe cluster start --head --etcd`), measured
 * from the kill:
 *
 * - `elected_ms`: the standby logs that it was elected (the leader's lease expired in etcd);
 * - `driver_served_ms`: a driver's `nodes()` request, sent right after the kill, is answered by the new leader;
 * - `node_back_ms`: the node agent has re-registered with the new leader under its old epoch.
 *
 * The limit is the lease TTL: a crashed leader cannot be replaced sooner, since nothing tells etcd it died until its
 * lease runs out (`ratio` = driver_served_ms / limit_ms). Everything runs on loopback: one etcd member started here
 * (a temporary data directory, random ports), two heads, one node agent, and this process as the driver; each repeat
 * starts a new standby on the dead leader's port and kills the current leader. Medians over the repeats.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../algorithms/statistics.ts';
import { Runtime } from '../runtime/index.ts';
import { freePort, startLocalEtcd } from '../deploy/dev-cluster/etcd.ts';
import { parseFlags } from './_flags.ts';
import { loadAverage, machineInfo } from './_peer.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const recipe = path.join(root, 'bin', 'recipe.js');

interface Watched {
  child: ChildProcess;
  /** Resolves with performance.now() when a log line's message starts with `prefix`. */
  at(prefix: string): Promise<number>;
}

function start(args: string[]): Watched {
  const env = { ...process.env, POSTTRAIN_LOG_LEVEL: 'info', POSTTRAIN_LOG_FORMAT: 'json' };
  // Its own process group, so that a node agent goes with its workers.
  const child = spawn(process.execPath, [recipe, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const seen: [string, number][] = [];
  const waiting: { prefix: string; resolve: (at: number) => void }[] = [];
  let partial = '';
  const take = (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      let message = part;
      try {
        message = String((JSON.parse(part) as { msg?: unknown }).msg ?? '');
      } catch {
        // Not a JSON line: match it as it is.
      }
      const now = performance.now();
      seen.push([message, now]);
      for (const waiter of [...waiting]) if (message.startsWith(waiter.prefix)) waiting.splice(waiting.indexOf(waiter), 1), waiter.resolve(now);
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return {
    child,
    at(prefix) {
      const found = seen.find(([message]) => message.startsWith(prefix));
      if (found) return Promise.resolve(found[1]);
      return new Promise((resolve, reject) => {
        waiting.push({ prefix, resolve });
        child.once('exit', (code, signal) => reject(new Error(`${args.slice(0, 3).join(' ')} exited (${signal ?? code}) before logging '${prefix}'`)));
      });
    },
  };
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { repeats: 'number', 'lease-ttl': 'number' });
  const repeats = Number(flags.repeats ?? 3);
  const leaseTtl = Number(flags['lease-ttl'] ?? 2);
  const etcd = await startLocalEtcd();
  const ports = [await freePort(), await freePort()];
  const processes: Watched[] = [];
  const head = (port: number) => {
    const watched = start(['cluster', 'start', '--head', '--host', '127.0.0.1', '--port', String(port), '--etcd', etcd.endpoints.join(','), '--etcd-lease-ttl', String(leaseTtl), '--heartbeat-ms', '200', '--node-timeout-ms', '5000']);
    processes.push(watched);
    return watched;
  };
  let runtime: Runtime | undefined;
  try {
    let leader = head(ports[0]!);
    await leader.at('head listening on');
    const heads = ports.map((port) => `127.0.0.1:${port}`).join(',');
    const node = start(['cluster', 'join', heads, '--host', '127.0.0.1', '--node-name', 'node-0', '--num-cpus', '1', '--num-gpus', '0', '--memory', String(2 ** 30), '--object-store-memory', String(2 ** 27)]);
    processes.push(node);
    await node.at('registered with the head as node-0');
    runtime = await Runtime.start({ address: heads, host: '127.0.0.1', clusterTimeouts: { headRequestTimeoutMs: 60_000 } });
    const epoch = (await runtime.nodes())[0]?.epoch;
    const measured: { elected: number; driverServed: number; nodeBack: number }[] = [];
    for (let repeat = 0; repeat < repeats; repeat++) {
      const standby = head(ports[(repeat + 1) % 2]!);
      await standby.at('head standing by');
      const killedAt = performance.now();
      process.kill(-(leader.child.pid as number), 'SIGKILL');
      const served = runtime.nodes().then(() => performance.now());
      const [elected, driverServed, nodeBack] = await Promise.all([standby.at('elected leader'), served, standby.at(`node node-0 reconnected (epoch ${epoch})`)]);
      measured.push({ elected: elected - killedAt, driverServed: driverServed - killedAt, nodeBack: nodeBack - killedAt });
      leader = standby;
    }
    const limitMs = leaseTtl * 1_000;
    const round = (value: number) => Math.round(value);
    const driverServedMs = median(measured.map((entry) => entry.driverServed));
    process.stdout.write(
      `${JSON.stringify({
        bench: 'head-takeover',
        machine: machineInfo(),
        loadAverage: loadAverage(),
        etcd: 'one member on loopback',
        lease_ttl_s: leaseTtl,
        repeats,
        elected_ms: round(median(measured.map((entry) => entry.elected))),
        driver_served_ms: round(driverServedMs),
        node_back_ms: round(median(measured.map((entry) => entry.nodeBack))),
        limit_ms: limitMs,
        ratio: Math.round((driverServedMs / limitMs) * 100) / 100,
        runs: measured.map((entry) => ({ elected_ms: round(entry.elected), driver_served_ms: round(entry.driverServed), node_back_ms: round(entry.nodeBack) })),
      })}\n`,
    );
  } finally {
    await runtime?.shutdown().catch(() => {});
    for (const watched of processes) if (watched.child.exitCode === null && watched.child.signalCode === null) process.kill(-(watched.child.pid as number), 'SIGKILL');
    await etcd.stop();
  }
}
