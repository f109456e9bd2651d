/**
 * `npm run bench -- matmul [--reps 5] [--threads 1,2] [--no-peer]`
 *
 * Float32 matrix products at SmolLM2-135M's shapes (M x K x N: the MLP's 512x576x1536, the LM head's
 * 256x576x49152, a 512x896x4864 MLP of the next size up) on three stacks, in the same invocation, at each
 * thread count: OpenBLAS through our addon (models/kernels/blas/), tfjs-wasm's own kernels (XNNPACK), and
 * PyTorch (bench/_matmul_peer.py; Debian's python3-torch, which multiplies on the same OpenBLAS). Forward is
 * A @ B; backward is the dense layer's two gradient products dY @ B^T and A^T @ dY, which tfjs-wasm can only run
 * fast after explicit transpose copies (as models/ops/linear.ts does without BLAS) and OpenBLAS and PyTorch take
 * as flags/views. Each thread count runs in its own process (the wasm pool is sized once per process).
 * Figures are GFLOP/s (2MKN per product), medians of `--reps` runs after one warm-up.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, setBlasMatMul } from '../models/index.ts';
import { loadAverage, machineInfo, PYTHON, ratio } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

const SHAPES = ['512x576x1536', '256x576x49152', '512x896x4864'];
const here = dirname(fileURLToPath(import.meta.url));

interface Rates {
  forward_gflops: number;
  backward_gflops: number;
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { reps: 'number', child: 'boolean', threads: 'string', 'no-peer': 'boolean' });
  const reps = Number(flags.reps ?? 5);
  if (flags.child) {
    process.stdout.write(`${JSON.stringify(await measureOurs(Number(flags.threads), reps))}\n`);
    return;
  }
  const threadCounts = String(flags.threads ?? '1,2').split(',').map(Number);
  const peerMissing = flags['no-peer'] ? 'skipped (--no-peer)' : torchMissing();
  const runs = [];
  for (const threads of threadCounts) {
    const ours = JSON.parse(runChild(threads, reps)) as OursResult;
    const loadAfterOurs = loadAverage();
    const peer = peerMissing ? undefined : (JSON.parse(runPeer(threads, reps)) as PeerResult);
    runs.push({
      threads,
      engine: ours.engine,
      shapes: SHAPES.map((shape, i) => {
        const blas = ours.blas?.[i];
        const wasm = ours.wasm[i]!;
        const torch = peer?.results[i];
        return {
          shape,
          blas: blas ?? null,
          wasm,
          torch: torch ? { forward_gflops: torch.forward_gflops, backward_gflops: torch.backward_gflops } : null,
          blas_vs_torch: { forward: ratio(blas?.forward_gflops, torch?.forward_gflops), backward: ratio(blas?.backward_gflops, torch?.backward_gflops) },
          blas_vs_wasm: { forward: ratio(blas?.forward_gflops, wasm.forward_gflops), backward: ratio(blas?.backward_gflops, wasm.backward_gflops) },
        };
      }),
      peer: peer ? { torch: peer.torch, threads: peer.threads, blas_libraries: peer.blas_libraries } : null,
      load_average: { after_ours: loadAfterOurs, after_peer: peer ? loadAverage() : null },
    });
  }
  process.stdout.write(
    `${JSON.stringify({
      bench: 'matmul',
      unit: 'GFLOP/s (2*M*K*N per product; backward counts both gradient products)',
      reps,
      runs,
      ...(peerMissing ? { peer_unavailable: peerMissing } : {}),
      machine: machineInfo(),
      note: 'medians after one warm-up; the machine may be shared (see load_average): compare figures from the same run only',
    })}\n`,
  );
}

interface OursResult {
  engine: string;
  blas: Rates[] | null;
  wasm: Rates[];
}

interface PeerResult {
  torch: string;
  threads: number;
  blas_libraries: string[];
  results: (Rates & { shape: string })[];
}

function runChild(threads: number, reps: number): string {
  const output = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'run.ts'), 'matmul', '--child', '--threads', String(threads), '--reps', String(reps)], {
    encoding: 'utf8',
    env: { ...process.env, POSTTRAIN_LOG_LEVEL: 'silent' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return output.trim().split('\n').pop()!;
}

function runPeer(threads: number, reps: number): string {
  const output = execFileSync(PYTHON, [join(here, '_matmul_peer.py'), '--threads', String(threads), '--reps', String(reps), '--shapes', SHAPES.join(',')], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  return output.trim().split('\n').pop()!;
}

function torchMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return `${PYTHON} cannot import torch; on Debian: apt-get install python3-torch libopenblas0-pthread`;
  }
}

async function measureOurs(threads: number, reps: number): Promise<OursResult> {
  const engine = await initEngine({ backend: 'wasm', threads });
  const blasActive = engine.matmul.startsWith('OpenBLAS');
  const measure = (useBlas: boolean): Rates[] =>
    SHAPES.map((shape) => {
      setBlasMatMul(useBlas);
      const [m, k, n] = shape.split('x').map(Number) as [number, number, number];
      const a = tf.randomNormal([m, k]);
      const b = tf.randomNormal([k, n]);
      const dy = tf.randomNormal([m, n]);
      const forward = rate(2 * m * k * n, reps, () => tf.matMul(a, b));
      // Without BLAS, tfjs-wasm's transposed products run on a scalar loop: copy the transposes first (linear.ts).
      const backward = rate(4 * m * k * n, reps, () =>
        useBlas ? [tf.matMul(dy, b, false, true), tf.matMul(a, dy, true, false)] : [tf.matMul(dy, tf.transpose(b)), tf.matMul(tf.transpose(a), dy)],
      );
      tf.dispose([a, b, dy]);
      return { forward_gflops: forward, backward_gflops: backward };
    });
  const blas = blasActive ? measure(true) : null;
  const wasm = measure(false);
  return { engine: engine.reason, blas, wasm };
}

/** GFLOP/s of `run` (tensors it creates are disposed each time), median over `reps` after one warm-up. */
function rate(flops: number, reps: number, run: () => tf.Tensor | tf.Tensor[]): number {
  tf.tidy(run);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    tf.tidy(run); // wasm and cpu kernels run synchronously inside the call
    times.push((performance.now() - start) / 1000);
  }
  return Math.round((flops / median(times) / 1e9) * 10) / 10;
}
