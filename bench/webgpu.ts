/**
 * `npm run bench -- webgpu [--shapes 1024x1024x1024,512x576x1536] [--reps 3] [--no-peer]`
 *
 * Does the `webgpu` backend start here, on which adapter (a real GPU, or Mesa's software renderer), how fast
 * does it multiply matrices, and can the models run on it? Prints one JSON line:
 * - `adapter` and `start_seconds`: what `initEngine({ backend: 'webgpu' })` found and how long it took;
 * - `matmul`: per M x K x N shape, GFLOP/s of `tf.matMul` on webgpu (median of `--reps`, after one warm-up that
 *   compiles the shader), next to the peers from the same run: PyTorch's `a @ b` on the same device class (CUDA
 *   when torch sees a GPU, else the CPU with every core, which is also what the software renderer uses) and
 *   tfjs-wasm single-threaded in this process; `ratio_to_peer` is ours / PyTorch;
 * - `kernels_missing_on_webgpu`: tfjs kernels that a bench-S training step and KV-cache decoding use (recorded
 *   on the cpu backend with the fused host kernels off, i.e. the composed path webgpu runs) that tfjs-webgpu
 *   does not register;
 * - `model_smoke`: one bench-S forward/backward (computeGradientsAsync) and 4 decoded tokens on webgpu, with
 *   seconds, or the error.
 *
 * Defaults: on a hardware GPU the shapes are 1024^3, SmolLM2-135M's MLP (512x576x1536) and LM head
 * (256x576x49152) and 4096^3; on the software renderer only 1024^3 (tens of seconds per product).
 * `POSTTRAIN_BACKEND=webgpu npm run bench -- <any other bench>` runs that benchmark on this backend.
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { ppoPolicyLoss, sftLoss } from '../algorithms/index.ts';
import { BENCH_S, GPT, Rng, computeGradientsAsync, initEngine, setFusedKernels } from '../models/index.ts';
import { actionLogProbs, generate } from '../rollout/index.ts';
import { PYTHON, machineInfo, ratio } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

type Shape = [number, number, number];

const HARDWARE_SHAPES: Shape[] = [
  [1024, 1024, 1024],
  [512, 576, 1536],
  [256, 576, 49152],
  [4096, 4096, 4096],
];
const SOFTWARE_SHAPES: Shape[] = [[1024, 1024, 1024]];

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { shapes: 'string', reps: 'number', 'no-peer': 'boolean' });
  const started = performance.now();
  const engine = await initEngine({ backend: 'webgpu' });
  const startSeconds = (performance.now() - started) / 1000;
  const software = engine.adapter?.software ?? false;
  const shapes = flags.shapes ? parseShapes(String(flags.shapes)) : software ? SOFTWARE_SHAPES : HARDWARE_SHAPES;
  const reps = Number(flags.reps ?? (software ? 2 : 5));

  const kernelsMissing = await kernelsMissingOnWebGpu();
  const smoke = await modelSmoke();
  const ours = [];
  for (const shape of shapes) ours.push({ shape, gflops: await tfjsMatMulGflops(shape, reps) });
  await tf.setBackend('wasm');
  const wasm: number[] = [];
  for (const shape of shapes) wasm.push(await tfjsMatMulGflops(shape, Math.min(reps, 2)));
  await tf.setBackend(engine.backend);
  const peer = flags['no-peer'] ? { skipped: '--no-peer' } : await torchMatMul(shapes, reps);

  const matmul = ours.map(({ shape, gflops }, i) => {
    const peerGflops = 'results' in peer ? peer.results[i] : undefined;
    return {
      shape: shape.join('x'),
      gflops: round(gflops),
      peer_torch_gflops: peerGflops === undefined ? null : round(peerGflops),
      ratio_to_peer: ratio(gflops, peerGflops),
      wasm_single_thread_gflops: round(wasm[i]!),
    };
  });
  const result = {
    bench: 'webgpu',
    backend: engine.backend,
    adapter: engine.adapter,
    reason: engine.reason,
    start_seconds: round(startSeconds),
    reps,
    matmul,
    peer: 'results' in peer ? { device: peer.device, threads: peer.threads, torch: peer.torch } : peer,
    kernels_missing_on_webgpu: kernelsMissing,
    model_smoke: smoke,
    machine: machineInfo(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function parseShapes(text: string): Shape[] {
  return text.split(',').map((part) => {
    const sizes = part.split('x').map(Number);
    if (sizes.length !== 3 || sizes.some((size) => !Number.isInteger(size) || size < 1)) {
      throw new Error(`--shapes: '${part}' is not MxKxN (e.g. 1024x1024x1024)`);
    }
    return sizes as Shape;
  });
}

/** Median GFLOP/s of an (M, K) x (K, N) product on the active backend; reading one element waits for it. */
async function tfjsMatMulGflops([m, k, n]: Shape, reps: number): Promise<number> {
  const rng = new Rng(1);
  const a = tf.tensor2d(Float32Array.from({ length: m * k }, () => rng.normal()), [m, k]);
  const b = tf.tensor2d(Float32Array.from({ length: k * n }, () => rng.normal()), [k, n]);
  const once = async () => {
    const product = tf.matMul(a, b);
    const corner = tf.slice(product, [0, 0], [1, 1]);
    await corner.data();
    tf.dispose([product, corner]);
  };
  await once();
  const seconds: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await once();
    seconds.push((performance.now() - start) / 1000);
  }
  tf.dispose([a, b]);
  return (2 * m * k * n) / median(seconds) / 1e9;
}

/** The peer: PyTorch's `a @ b` on the same shapes, CUDA when available, else every CPU core. */
async function torchMatMul(shapes: Shape[], reps: number): Promise<{ device: string; threads: number; torch: string; results: number[] } | { unavailable: string }> {
  const script = `
import json, sys, time, torch
shapes, reps, threads = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
device = 'cuda' if torch.cuda.is_available() else 'cpu'
sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
results = []
for m, k, n in shapes:
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    a @ b; sync()
    times = []
    for _ in range(reps):
        start = time.perf_counter(); a @ b; sync(); times.append(time.perf_counter() - start)
    times.sort()
    results.append(2 * m * k * n / times[len(times) // 2] / 1e9)
name = torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'
print(json.dumps({'device': name, 'threads': threads, 'torch': torch.__version__, 'results': results}))
`;
  return new Promise((resolve) => {
    execFile(PYTHON, ['-c', script, JSON.stringify(shapes), String(reps), String(availableParallelism())], { timeout: 900_000 }, (error, stdout, stderr) => {
      if (error) {
        resolve({ unavailable: `${PYTHON} with torch failed: ${stderr.trim().split('\n').pop() ?? error.message}; on Debian: apt-get install python3-torch` });
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

/** A bench-S loss with the pieces of a PPO/SFT step: embeddings, blocks, LM head, log-softmax, gathers. */
function stepLoss(model: GPT): () => tf.Scalar {
  const tokens = Int32Array.from({ length: 2 * 12 }, (_, i) => (i * 5 + 3) % BENCH_S.vocabSize);
  return () => {
    const targets = tf.tensor2d(tokens.map((token) => (token + 1) % BENCH_S.vocabSize), [2, 12], 'int32');
    const sft = sftLoss(model.logits({ tokens, batchSize: 2, length: 12 }), targets, tf.ones([2, 12]) as tf.Tensor2D);
    const logProbs = actionLogProbs(model, { batchSize: 2, promptLength: 6, responseLength: 6, sequences: tokens, attentionMask: new Int32Array(24).fill(1) });
    const ppo = ppoPolicyLoss(logProbs, tf.fill([2, 6], -4), tf.ones([2, 6]), tf.ones([2, 6]), { clipLow: 0.2, clipHigh: 0.2 }).loss;
    return tf.add(sft, ppo) as tf.Scalar;
  };
}

/** Kernels of a training step and of KV-cache decoding (composed path, recorded on cpu) that webgpu lacks. */
async function kernelsMissingOnWebGpu(): Promise<string[]> {
  const active = tf.getBackend();
  await tf.setBackend('cpu');
  setFusedKernels(false);
  try {
    const model = new GPT(BENCH_S, { seed: 1 });
    const profile = await tf.profile(async () => {
      await computeGradientsAsync(model, stepLoss(model));
      await generate(model, { tokens: Int32Array.from([3, 4, 5, 6]), batchSize: 1, length: 4 }, { maxNewTokens: 3, rng: new Rng(2) });
    });
    model.dispose();
    const registered = new Set(tf.getKernelsForBackend('webgpu').map((kernel) => kernel.kernelName));
    const used = new Set(profile.kernels.map((kernel) => kernel.name));
    // Op-level scopes (`matMul__op`) and unnamed scopes are not kernels.
    return [...used].filter((name) => !registered.has(name) && !name.includes('__op') && name !== 'unnamed scope').sort();
  } finally {
    setFusedKernels(true);
    await tf.setBackend(active);
  }
}

/** One forward/backward and a short generation on the active backend (webgpu), timed, or the error. */
async function modelSmoke(): Promise<{ ok: true; gradient_seconds: number; generate_seconds: number; loss: number } | { ok: false; error: string }> {
  const model = new GPT(BENCH_S, { seed: 1 });
  try {
    const start = performance.now();
    const { loss } = await computeGradientsAsync(model, stepLoss(model));
    const afterGradient = performance.now();
    await generate(model, { tokens: Int32Array.from([3, 4, 5, 6]), batchSize: 1, length: 4 }, { maxNewTokens: 4, rng: new Rng(2) });
    return { ok: true, gradient_seconds: round((afterGradient - start) / 1000), generate_seconds: round((performance.now() - afterGradient) / 1000), loss: round(loss) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    model.dispose();
  }
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}
