/**
 * `npm run bench -- runtime`: the runtime's microbenchmarks, modelled on Ray's (release/microbenchmark), next to
 * the limits measured in the same run: the raw Node fork-IPC round trip (what actor calls would cost over
 * Node's built-in channel) and memcpy of the same 64 MiB buffer (what a store read can at best reach).
 *
 * Prints one JSON object. Options: `--quick` (fewer iterations, for a smoke run); `--shm-directory DIR` to put
 * the store on another tmpfs (e.g. one mounted with `huge=always`, which lifts the get figures).
 */
import { fork } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../runtime/index.ts';
import type { BenchActor } from './_runtime-actors.ts';
import { parseFlags } from './_flags.ts';

const module = new URL('./_runtime-actors.ts', import.meta.url);
const MIB = 2 ** 20;
const ARRAY_BYTES = 64 * MIB;

/** Ray's microbenchmarks on an m5.16xlarge (64 vCPUs), from Ray's published release benchmarks. */
const RAY_ANCHORS = {
  ray_actor_calls_sync_per_s: 2012,
  ray_actor_calls_async_per_s: 8664,
  ray_actor_calls_n_n_per_s: 27376,
  ray_placement_groups_per_s: 765,
  ray_put_gb_per_s: 19.9,
};

const TARGETS = { actor_calls_sync_per_s: 4000, actor_calls_async_per_s: 17000, placement_groups_per_s: 1600, get_fraction_of_memcpy: 0.5 };

function rate(count: number, started: number): number {
  return Math.round(count / ((performance.now() - started) / 1000));
}

async function forkIpcRoundTrips(count: number): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), 'posttrain-bench-'));
  const script = join(directory, 'echo.cjs');
  writeFileSync(script, "process.on('message', (message) => process.send(message));");
  const child = fork(script, [], { stdio: 'ignore' });
  const roundTrip = () => new Promise<void>((resolve) => {
    child.once('message', () => resolve());
    child.send(1);
  });
  for (let index = 0; index < 500; index++) await roundTrip();
  const started = performance.now();
  for (let index = 0; index < count; index++) await roundTrip();
  const result = rate(count, started);
  child.kill();
  rmSync(directory, { recursive: true, force: true });
  return result;
}

function memcpyGbPerSecond(): number {
  const source = new Float32Array(ARRAY_BYTES / 4).map((_, index) => index);
  const target = new Float32Array(ARRAY_BYTES / 4);
  target.set(source);
  let best = Number.POSITIVE_INFINITY;
  for (let index = 0; index < 10; index++) {
    const started = performance.now();
    target.set(source);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return ARRAY_BYTES / best / 1e9;
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { quick: 'boolean', 'shm-directory': 'string' });
  const quick = flags.quick ?? false;
  const scale = quick ? 0.1 : 1;
  const shmDirectory = flags['shm-directory'];
  const runtime = await Runtime.start({ nodes: [{ resources: { CPU: 64 } }], ...(shmDirectory ? { objectStore: { directory: shmDirectory, memoryBytes: 512 * MIB } } : {}) });
  try {
    const ipc = await forkIpcRoundTrips(Math.round(10_000 * scale));
    const memcpy = memcpyGbPerSecond();

    const create = (count: number) =>
      Promise.all(Array.from({ length: count }, () => runtime.createActor<typeof BenchActor>({ module, exportName: 'BenchActor', resources: { CPU: 1 } })));
    let started = performance.now();
    const created = await create(4);
    const creations = rate(created.length, started);
    await Promise.all(created.map((actor) => actor.kill()));

    const [actor, callerA, callerB, calleeA, calleeB] = await create(5);
    const target = actor!;
    for (let index = 0; index < 2000; index++) await target.call('noop');
    const syncCalls = Math.round(10_000 * scale);
    started = performance.now();
    for (let index = 0; index < syncCalls; index++) await target.call('noop');
    const sync = rate(syncCalls, started);

    const asyncCalls = Math.round(100_000 * scale);
    await Promise.all(Array.from({ length: 10_000 }, () => target.call('noop')));
    started = performance.now();
    await Promise.all(Array.from({ length: asyncCalls }, () => target.call('noop')));
    const asyncRate = rate(asyncCalls, started);

    const callees = [calleeA!, calleeB!];
    const perTarget = Math.round(25_000 * scale);
    await Promise.all([callerA!, callerB!].map((caller) => caller.call('hammer', callees, 1000)));
    started = performance.now();
    const made = await Promise.all([callerA!, callerB!].map((caller) => caller.call('hammer', callees, perTarget)));
    const nToN = rate(made.reduce((sum, count) => sum + count, 0), started);

    const groups = Math.round(5_000 * scale);
    started = performance.now();
    for (let index = 0; index < groups; index++) {
      const group = await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }], strategy: 'PACK' });
      await group.ready();
      await group.remove();
    }
    const placementGroups = rate(groups, started);

    const array = new Float32Array(ARRAY_BYTES / 4).map((_, index) => index);
    let bestPut = Number.POSITIVE_INFINITY;
    for (let index = 0; index < 5; index++) {
      const putStarted = performance.now();
      const ref = await runtime.put(array);
      bestPut = Math.min(bestPut, (performance.now() - putStarted) / 1000);
      ref.release();
    }
    const ref = await runtime.put(array);
    const getSeconds = await target.call('timeGet', ref, array.length, 5, false);
    const getIntoSeconds = await target.call('timeGet', ref, array.length, 5, true);
    ref.release();

    const getGb = ARRAY_BYTES / getSeconds / 1e9;
    const getIntoGb = ARRAY_BYTES / getIntoSeconds / 1e9;
    const round = (value: number) => Math.round(value * 100) / 100;
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'runtime',
          machine: { cpus: availableParallelism(), node: process.version, load_average_1m: round(loadavg()[0] ?? 0) },
          actor_calls_sync_per_s: sync,
          actor_calls_async_per_s: asyncRate,
          actor_calls_n_n_per_s: nToN,
          actor_creations_per_s: creations,
          placement_groups_per_s: placementGroups,
          put_gb_per_s: round(ARRAY_BYTES / bestPut / 1e9),
          get_gb_per_s: round(getGb),
          get_into_gb_per_s: round(getIntoGb),
          memcpy_gb_per_s: round(memcpy),
          get_fraction_of_memcpy: round(getGb / memcpy),
          get_into_fraction_of_memcpy: round(getIntoGb / memcpy),
          fork_ipc_round_trips_per_s: ipc,
          sync_calls_fraction_of_fork_ipc: round(sync / ipc),
          get_note:
            'get_gb_per_s allocates a fresh array (page faults on new memory dominate); get_into reuses one, leaving the ' +
            "kernel's page-by-page copy out of tmpfs as the limit",
          array_bytes: ARRAY_BYTES,
          shm_directory: shmDirectory ?? '/dev/shm',
          n_n_shape: '2 caller actors x 2 callee actors, pipelined',
          anchors: RAY_ANCHORS,
          targets: TARGETS,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await runtime.shutdown();
  }
}
