/**
 * `npm run bench -- nccl [--mebibytes M] [--iterations N]` (on a GPU machine, after building the addon: README,
 * section Collectives)
 *
 * The `nccl` collective backend checked and measured on GPU 0. NCCL allows one rank per GPU, so on a one-GPU
 * machine the group has one rank; the native addon, NCCL's init, every collective, the copies between host and
 * GPU, abort and destroy all run for real. Checks (the bench exits 1 when one fails):
 * - allreduce (sum, mean, max, min), broadcast, allgather, reduceScatter (even and uneven lengths) and barrier give
 *   the serial result over the group's one rank, for 0, 1, 7, 1000 elements and M MiB;
 * - a call after `destroy()` is refused with COLLECTIVE_DESTROYED;
 * - a group of two whose rank 1 never comes fails with CollectiveTimeoutError after its timeout (NCCL's abort).
 * Measured: allreduce of M MiB of host float32 (copied to the GPU, reduced, copied back), algbw in GB/s (median of
 * N), next to the peer in the same run: PyTorch's torch.distributed NCCL all_reduce of the same host tensor with
 * the same copies, and the copies alone from pageable and pinned host memory, the limit of a collective whose
 * buffers live on the host (bench/_nccl_peer.py; `PEER_PYTHON` names the Python that has torch, default `python3`).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableBackends, CollectiveError, CollectiveTimeoutError, createCommunicator, createUniqueId, type Communicator } from '../runtime/collectives/index.ts';
import { loadNcclAddon } from '../runtime/collectives/nccl/nccl-availability.ts';
import { machineInfo, ratio } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

function values(length: number, seed: number): Float32Array {
  const array = new Float32Array(length);
  for (let i = 0; i < length; i++) array[i] = ((i * 7 + seed * 13) % 1000) - 500 + seed / 8;
  return array;
}

function same(actual: Float32Array, expected: Float32Array): boolean {
  if (actual.length !== expected.length) return false;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return false;
  return true;
}

async function checks(communicator: Communicator, largeElements: number): Promise<Record<string, boolean>> {
  const results: Record<string, boolean> = {};
  for (const length of [0, 1, 7, 1000, largeElements]) {
    const input = values(length, 1);
    for (const op of ['sum', 'mean', 'max', 'min'] as const) {
      results[`allreduce ${op} ${length}`] = same(await communicator.allreduce(input.slice(), { op }), input);
    }
    results[`broadcast ${length}`] = same(await communicator.broadcast(input.slice(), 0), input);
    results[`allgather ${length}`] = same(await communicator.allgather(input.slice()), input);
    results[`reduceScatter ${length}`] = same(await communicator.reduceScatter(input.slice(), { op: 'sum' }), input);
  }
  await communicator.barrier();
  results.barrier = true;
  return results;
}

async function timedAllreduce(communicator: Communicator, elements: number, iterations: number): Promise<number> {
  const buffer = values(elements, 2);
  const seconds: number[] = [];
  for (let i = 0; i < iterations + 2; i++) {
    const start = performance.now();
    await communicator.allreduce(buffer, { op: 'sum' });
    if (i >= 2) seconds.push((performance.now() - start) / 1000);
  }
  return median(seconds);
}

async function missingRankTimesOut(): Promise<{ ok: boolean; seconds: number; message: string }> {
  const uniqueId = await createUniqueId({ backend: 'nccl' });
  const start = performance.now();
  try {
    await createCommunicator(uniqueId, { rank: 0, worldSize: 2, timeoutMs: 3_000 });
    return { ok: false, seconds: (performance.now() - start) / 1000, message: 'formed a group of two with one rank' };
  } catch (error) {
    return { ok: error instanceof CollectiveTimeoutError, seconds: Math.round(performance.now() - start) / 1000, message: (error as Error).message };
  }
}

function runPeer(elements: number, iterations: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    execFile(process.env.PEER_PYTHON ?? 'python3', [path.join(here, '_nccl_peer.py'), String(elements), String(iterations)], { timeout: 300_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').filter((text) => text.startsWith('{')).pop();
      if (error || !line) resolve({ unavailable: `${error?.message ?? 'no JSON line'} ${stderr.slice(-500)}` });
      else resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { mebibytes: 'number', iterations: 'number' });
  const mebibytes = Number(flags.mebibytes ?? 64);
  const iterations = Number(flags.iterations ?? 20);
  const elements = (mebibytes * 2 ** 20) / 4;
  const state = loadNcclAddon();
  if ('missing' in state) {
    process.stdout.write(`${JSON.stringify({ bench: 'nccl', unavailable: state.missing, backends: availableBackends() })}\n`);
    process.exitCode = 1;
    return;
  }
  const communicator = await createCommunicator(await createUniqueId({ backend: 'nccl' }), { rank: 0, worldSize: 1 });
  const results = await checks(communicator, elements);
  const seconds = await timedAllreduce(communicator, elements, iterations);
  await communicator.destroy();
  const afterDestroy = await communicator.allreduce(new Float32Array(4)).then(
    () => 'accepted',
    (error: unknown) => (error instanceof CollectiveError ? error.code : String(error)),
  );
  results['refused after destroy'] = afterDestroy === 'COLLECTIVE_DESTROYED';
  const timeout = await missingRankTimesOut();
  results['missing rank times out'] = timeout.ok;
  const peer = await runPeer(elements, iterations);
  const ours = (elements * 4) / seconds / 1e9;
  const failed = Object.entries(results).filter(([, ok]) => !ok).map(([name]) => name);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'nccl',
      world_size: 1,
      mebibytes,
      iterations,
      checks_passed: Object.keys(results).length - failed.length,
      checks_failed: failed,
      after_destroy: afterDestroy,
      missing_rank: timeout,
      allreduce_gb_per_s: Math.round(ours * 1000) / 1000,
      peer_allreduce_gb_per_s: peer.allreduce_gb_per_s ?? null,
      over_peer: ratio(ours, peer.allreduce_gb_per_s as number | undefined),
      pageable_copy_gb_per_s: peer.pageable_copy_gb_per_s ?? null,
      over_pageable_copy: ratio(ours, peer.pageable_copy_gb_per_s as number | undefined),
      peer,
      backends: availableBackends(),
      machine: machineInfo(),
    })}\n`,
  );
  if (failed.length > 0) process.exitCode = 1;
}
