/**
 * `npm run bench -- collectives [--rounds R] [--iterations N] [--raw-mebibytes M]`
 *
 * Allreduce bandwidth of the collectives next to the physical limits measured in the same run:
 * - `tcp` ring between two hosts (two network namespaces on a private bridge), 64 MiB of float32, against raw TCP
 *   throughput between the same two namespaces (Node sockets, 4 MiB writes). Target: bus bandwidth >= 50% of raw.
 *   `raw_tcp_gb_per_s` is the best Node does one way (reading with `onread` into a reused buffer, as the ring does);
 *   also reported: the same with `data` events, and both directions at once (what a 2-rank ring needs).
 * - `shm` between two local processes, 64 MiB and the bench-S gradient size (420,000 floats, 1.68 MB), against
 *   memcpy (Float32Array.set of 64 MiB) in this process.
 * - cross-node object `get` of 64 MiB (`object_get_gb_per_s`) on a real cluster (head and two nodes started by
 *   `recipe cluster` in namespaces), next to the raw TCP figure between namespaces measured above.
 *
 * Bandwidths follow NCCL-tests (https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md):
 * algbw = bytes / time and, for allreduce, busbw = algbw * 2(n-1)/n, which is comparable to a link's bandwidth.
 * Each timed allreduce starts right after a barrier; its time is the slowest rank's; the figure is the median.
 * Across hosts, R rounds each measure raw TCP one way (M MiB), raw TCP both ways at once (M/2 MiB each way: what
 * a 2-rank ring does) and two ring allreduces, interleaved so that all see the same background load.
 * The machine is shared: figures are "measured under load" (the load average is printed with them).
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetnsCluster, netnsSupport, type NetnsCluster, type NetnsHost } from '../deploy/dev-cluster/netns.ts';
import { median } from '../algorithms/statistics.ts';
import { parseFlags } from './_flags.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const workerPath = path.join(here, '_collectives-rank.ts');
const repositoryRoot = path.resolve(here, '..');
const GIGA = 1e9;
const LARGE_ELEMENTS = 16 * 1024 * 1024; // 64 MiB of float32
const SMALL_ELEMENTS = 420_000; // bench-S gradients, 1.68 MB

/** A benchmark process, driven over IPC. */
class BenchRank {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  readonly ready: Promise<void>;

  constructor(readonly child: ChildProcess) {
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (message: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
        if (message.ready) return resolve();
        const waiter = this.pending.get(message.id as number);
        this.pending.delete(message.id as number);
        if (message.error !== undefined) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.result);
      });
      child.once('exit', (code) => {
        const error = new Error(`benchmark process exited with ${code}`);
        reject(error);
        for (const waiter of this.pending.values()) waiter.reject(error);
      });
    });
  }

  call<T>(command: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, command, args });
    });
  }

  stop(): void {
    this.child.kill();
  }
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

/** Form a group of `ranks`; rank 0 creates the unique id, as a trainer's rank-0 actor would. */
async function formGroup(ranks: BenchRank[], backend: 'shm' | 'tcp', hosts: (string | undefined)[]): Promise<void> {
  const uniqueId = await (ranks[0] as BenchRank).call<string>('createUniqueId', { backend, ...(hosts[0] ? { host: hosts[0] } : {}) });
  await Promise.all(ranks.map((rank, index) => rank.call('join', uniqueId, { rank: index, worldSize: ranks.length, ...(hosts[index] ? { host: hosts[index] } : {}) })));
}

/** Time `iterations` allreduces of `elements` floats on the formed group; each iteration counts its slowest rank. */
async function timeAllreduce(ranks: BenchRank[], elements: number, iterations: number, warmup: number): Promise<number[]> {
  const perRank = await Promise.all(ranks.map((rank) => rank.call<number[]>('timeAllreduce', { elements, iterations, warmup })));
  return (perRank[0] as number[]).map((_, iteration) => Math.max(...perRank.map((times) => times[iteration] as number)));
}

interface AllreduceFigures {
  bytes: number;
  seconds: number[];
  algbw_gb_per_s: number;
  busbw_gb_per_s: number;
  best_busbw_gb_per_s: number;
}

/** NCCL-tests figures from per-iteration times: algbw = bytes / time, busbw = algbw * 2(n-1)/n (median and best). */
function allreduceFigures(elements: number, worldSize: number, seconds: number[]): AllreduceFigures {
  const bytes = elements * 4;
  const busFactor = (2 * (worldSize - 1)) / worldSize;
  const algbw = bytes / median(seconds) / GIGA;
  return {
    bytes,
    seconds: seconds.map((value) => round(value, 5)),
    algbw_gb_per_s: round(algbw),
    busbw_gb_per_s: round(algbw * busFactor),
    best_busbw_gb_per_s: round((bytes / Math.min(...seconds) / GIGA) * busFactor),
  };
}

function memcpyGigabytesPerSecond(): number {
  const source = new Float32Array(LARGE_ELEMENTS).fill(1);
  const target = new Float32Array(LARGE_ELEMENTS);
  target.set(source);
  const seconds: number[] = [];
  for (let repeat = 0; repeat < 10; repeat++) {
    const start = process.hrtime.bigint();
    target.set(source);
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return round((LARGE_ELEMENTS * 4) / median(seconds) / GIGA);
}

async function shmFigures(iterations: number): Promise<Record<string, unknown>> {
  const ranks = [0, 1].map(
    () => new BenchRank(fork(workerPath, [], { cwd: repositoryRoot, execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })),
  );
  try {
    await Promise.all(ranks.map((rank) => rank.ready));
    await formGroup(ranks, 'shm', []);
    const large = allreduceFigures(LARGE_ELEMENTS, 2, await timeAllreduce(ranks, LARGE_ELEMENTS, iterations, 2));
    const small = allreduceFigures(SMALL_ELEMENTS, 2, await timeAllreduce(ranks, SMALL_ELEMENTS, iterations * 5, 5));
    return { large, small };
  } finally {
    for (const rank of ranks) rank.stop();
  }
}

async function clusterFigures(rounds: number, rawMebibytes: number): Promise<Record<string, unknown>> {
  const cluster: NetnsCluster = createNetnsCluster({ hosts: 2 });
  try {
    const hosts = cluster.hosts as [NetnsHost, NetnsHost];
    const ranks = hosts.map(
      (host) =>
        new BenchRank(
          cluster.spawn(host, process.execPath, ['--import', 'tsx', workerPath], {
            cwd: repositoryRoot,
            serialization: 'advanced',
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          }),
        ),
    ) as [BenchRank, BenchRank];
    await Promise.all(ranks.map((rank) => rank.ready));
    const addresses = hosts.map((host) => host.address);
    await formGroup(ranks, 'tcp', addresses);
    // Rounds interleave raw TCP, both directions at once, and the ring allreduce, so that all three see the same
    // background load on this shared machine.
    const rawSeconds: number[] = [];
    const zeroCopySeconds: number[] = [];
    const bidirectionalSeconds: number[] = [];
    const allreduceSeconds: number[] = [];
    /** `sender` sends `mebibytes` to `receiver`; resolves with the sender's seconds. */
    const stream = async (sender: 0 | 1, mebibytes: number, zeroCopy: boolean): Promise<number> => {
      const receiver = 1 - sender;
      const port = await ranks[sender].call<number>('rawServe', { host: hosts[sender].address, mebibytes });
      await ranks[receiver].call('rawFetch', { host: hosts[sender].address, port, mebibytes, zeroCopy });
      return ranks[sender].call<number>('rawServed');
    };
    for (let repeat = 0; repeat < rounds; repeat++) {
      rawSeconds.push(await stream(0, rawMebibytes, false));
      zeroCopySeconds.push(await stream(0, rawMebibytes, true));
      // Both directions at once: what a 2-rank ring does (each rank sends and receives the whole time).
      bidirectionalSeconds.push(Math.max(...(await Promise.all([stream(0, rawMebibytes / 2, true), stream(1, rawMebibytes / 2, true)]))));
      allreduceSeconds.push(...(await timeAllreduce(ranks, LARGE_ELEMENTS, 2, repeat === 0 ? 2 : 0)));
    }
    const perSecond = (mebibytes: number, seconds: number[]): number => round((mebibytes * 2 ** 20) / median(seconds) / GIGA);
    const small = allreduceFigures(SMALL_ELEMENTS, 2, await timeAllreduce(ranks, SMALL_ELEMENTS, 50, 5));
    return {
      raw_tcp_gb_per_s: perSecond(rawMebibytes, zeroCopySeconds),
      raw_tcp_data_events_gb_per_s: perSecond(rawMebibytes, rawSeconds),
      raw_tcp_bidirectional_gb_per_s_each_way: perSecond(rawMebibytes / 2, bidirectionalSeconds),
      raw_tcp_seconds: {
        mebibytes: rawMebibytes,
        onread: zeroCopySeconds.map((value) => round(value, 4)),
        data_events: rawSeconds.map((value) => round(value, 4)),
        bidirectional_mebibytes_each_way: rawMebibytes / 2,
        bidirectional: bidirectionalSeconds.map((value) => round(value, 4)),
      },
      large: allreduceFigures(LARGE_ELEMENTS, 2, allreduceSeconds),
      small,
    };
  } finally {
    cluster.destroy();
  }
}

/**
 * Cross-node object `get`: a head and two node agents (`recipe cluster`) in network namespaces; an actor on node-0
 * puts fresh 64 MiB Float32Arrays, an actor on node-1 gets each once and times it (gRPC fetch into node-1's shared
 * memory, then the local read), and, for reference, an actor on node-0 times a local get of the same objects.
 */
async function objectGetFigures(rounds: number): Promise<Record<string, unknown>> {
  const { startTestCluster } = await import('../test/cluster/cluster-harness.ts');
  const cluster = await startTestCluster({ nodes: [{ name: 'node-0', resources: { CPU: 2 } }, { name: 'node-1', resources: { CPU: 2 } }] });
  try {
    const runtime = await cluster.driver({ namespace: 'bench' });
    try {
      const module = new URL('./_object-actor.ts', import.meta.url);
      const on = (node: string) => runtime.createActor<typeof import('./_object-actor.ts').ObjectBench>({ module, exportName: 'ObjectBench', resources: { CPU: 0.5, [`node:${node}`]: 0.01 } });
      const [owner, local, remote] = await Promise.all([on('node-0'), on('node-0'), on('node-1')]);
      const remoteSeconds: number[] = [];
      const localSeconds: number[] = [];
      for (let round = 0; round < rounds + 1; round++) {
        const ref = await owner.call('make', LARGE_ELEMENTS, round + 1);
        const fetched = await remote.call('timeGet', ref);
        const read = await local.call('timeGet', ref);
        if (fetched.last !== round + 1 || read.last !== round + 1) throw new Error('object get returned the wrong bytes');
        // The first round warms up connections and code paths.
        if (round > 0) {
          remoteSeconds.push(fetched.seconds);
          localSeconds.push(read.seconds);
        }
        ref.release();
      }
      const perSecond = (seconds: number[]): number => round((LARGE_ELEMENTS * 4) / median(seconds) / GIGA);
      return {
        bytes: LARGE_ELEMENTS * 4,
        cross_node_get_gb_per_s: perSecond(remoteSeconds),
        cross_node_get_seconds: remoteSeconds.map((value) => round(value, 4)),
        same_node_get_gb_per_s: perSecond(localSeconds),
        transport: 'gRPC server stream of the stored object file in 4 MiB messages, bearer token, no TLS',
      };
    } finally {
      await runtime.shutdown();
    }
  } finally {
    cluster.destroy();
  }
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { iterations: 'number', rounds: 'number', 'raw-mebibytes': 'number' });
  const option = (name: keyof typeof flags, fallback: number): number => flags[name] ?? fallback;
  const iterations = option('iterations', 10);
  const rounds = option('rounds', 5);
  const rawMebibytes = option('raw-mebibytes', 512);
  const loadAtStart = os.loadavg()[0] as number;
  const memcpy = memcpyGigabytesPerSecond();
  const shm = await shmFigures(iterations);
  const support = netnsSupport();
  const cluster = support.ok ? await clusterFigures(rounds, rawMebibytes) : undefined;
  const objects = support.ok ? await objectGetFigures(rounds) : undefined;
  const tcpLarge = cluster?.large as { busbw_gb_per_s: number } | undefined;
  const raw = cluster?.raw_tcp_gb_per_s as number | undefined;
  const result = {
    bench: 'collectives',
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, load_average_at_start: round(loadAtStart, 2), load_average_at_end: round(os.loadavg()[0] as number, 2) },
    note: 'measured under load on a shared machine; NCCL-tests definitions: busbw = algbw * 2(n-1)/n; median of timed iterations, slowest rank per iteration',
    allreduce_bus_gb_per_s: tcpLarge?.busbw_gb_per_s ?? null,
    raw_tcp_gb_per_s: raw ?? null,
    allreduce_fraction_of_raw_tcp: tcpLarge && raw ? round(tcpLarge.busbw_gb_per_s / raw) : null,
    target_fraction_of_raw_tcp: 0.5,
    raw_tcp_data_events_gb_per_s: cluster?.raw_tcp_data_events_gb_per_s ?? null,
    allreduce_fraction_of_raw_tcp_data_events: tcpLarge && cluster ? round(tcpLarge.busbw_gb_per_s / (cluster.raw_tcp_data_events_gb_per_s as number)) : null,
    raw_tcp_bidirectional_gb_per_s_each_way: cluster?.raw_tcp_bidirectional_gb_per_s_each_way ?? null,
    allreduce_fraction_of_raw_tcp_bidirectional: tcpLarge && cluster ? round(tcpLarge.busbw_gb_per_s / (cluster.raw_tcp_bidirectional_gb_per_s_each_way as number)) : null,
    // The restated target (issue 16): the two-host allreduce against raw TCP both ways at once, in the same run.
    allreduce_over_bidirectional_tcp: tcpLarge && cluster ? round(tcpLarge.busbw_gb_per_s / (cluster.raw_tcp_bidirectional_gb_per_s_each_way as number)) : null,
    allreduce_over_bidirectional_tcp_target: 0.9,
    shm_allreduce_bus_gb_per_s: { '64MiB': (shm.large as { busbw_gb_per_s: number }).busbw_gb_per_s, '1.68MB': (shm.small as { busbw_gb_per_s: number }).busbw_gb_per_s },
    memcpy_gb_per_s: memcpy,
    object_get_gb_per_s: objects?.cross_node_get_gb_per_s ?? null,
    object_get_fraction_of_raw_tcp: objects && raw ? round((objects.cross_node_get_gb_per_s as number) / raw) : null,
    objects: objects ?? { skipped: 'reason' in support ? support.reason : 'unknown' },
    tcp: cluster ? { world_size: 2, hosts: 'two network namespaces on one bridge', chunk_bytes: 1024 * 1024, ...cluster } : { skipped: 'reason' in support ? support.reason : 'unknown' },
    shm: { world_size: 2, ranks: 'two local processes', ...shm },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
