/**
 * One GRPO iteration of a Llama at SmolLM2-135M's shapes (hidden 576, MLP 1536, 30 layers, 9 query / 3 key-value
 * heads, vocab 49152, tied embeddings; random weights), exactly the work of ../shared/peers/torch_llama_step.py,
 * through posttrain's real code: the folder is written and read back through the Hugging Face loading path
 * (models/hf/), generation is rollout/generate.ts with its KV cache, scoring is rollout/log-probs.ts, the loss
 * is algorithms/ (clipped ratio + 0.04 k3 KL, sequence mean) and the update computeGradients + Adam, the same
 * functions the GRPO roles call.
 *
 *   16 rows = 4 prompts x 4 samples, prompts of 32 random tokens
 *   generate 32 new tokens per row (temperature 1, no EOS) -> score log pi_old and log pi_ref
 *   -> group-normalised advantages of a synthetic reward (share of even token ids)
 *   -> one pass in 2 minibatches of 8
 *
 * Prints one JSON line: ours and the peer's generated and trained tokens/s, per-phase seconds, peak RSS, the ratios
 * and the backend.
 *
 *   npm run bench -- llama-step [--shape smollm2-135m|tiny] [--threads 2] [--iters 1] [--no-peer]
 *                               [--layers N] [--profile]
 *
 * `--layers N` keeps the shape but with N layers (a quicker profile of the vocabulary-sized work); `--profile`
 * adds `kernel_ms`, the 25 tfjs kernels that took longest over the measured iterations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { aggregateLoss } from '../algorithms/reduce.ts';
import { groupAdvantages } from '../algorithms/advantages/group.ts';
import { klPenalty } from '../algorithms/kl/penalty.ts';
import { ppoPolicyLoss } from '../algorithms/losses/ppo-clip.ts';
import { Adam } from '../models/adam.ts';
import type { CausalModel } from '../models/causal-model.ts';
import { computeGradientsAsync } from '../models/compute-gradients.ts';
import { initEngine } from '../models/engine.ts';
import { parseHfConfig } from '../models/hf/hf-config.ts';
import { initLlamaFolder, llamaConfigJson, SMOLLM2_135M, type LlamaShape } from '../models/hf/init-model.ts';
import { weightCount } from '../models/hf/weight-map.ts';
import { createModel } from '../models/model-spec.ts';
import { Rng } from '../models/rng.ts';
import { generate } from '../rollout/generate.ts';
import { actionLogProbs, type SequenceBatch } from '../rollout/log-probs.ts';
import { machineInfo, pythonPeerUnavailable, ratio, runPythonPeer } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { timeKernels, topKernels, type KernelTimes } from './_kernel-timer.ts';
import { median } from '../algorithms/statistics.ts';

const SHAPES: Record<string, LlamaShape> = {
  'smollm2-135m': SMOLLM2_135M,
  tiny: { ...SMOLLM2_135M, vocab_size: 512, hidden_size: 64, intermediate_size: 192, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 },
};
const PROMPTS = 4;
const SAMPLES = 4;
const PROMPT_TOKENS = 32;
const NEW_TOKENS = 32;
const MINIBATCHES = 2;
const CLIP = 0.2;
const KL_BETA = 0.04;
const LEARNING_RATE = 1e-6;

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { shape: 'string', threads: 'number', iters: 'number', 'no-peer': 'boolean', layers: 'number', profile: 'boolean' });
  const shapeName = String(flags.shape ?? 'smollm2-135m');
  const named = SHAPES[shapeName];
  if (!named) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
  const shape = flags.layers === undefined ? named : { ...named, num_hidden_layers: flags.layers };
  const threads = Number(flags.threads ?? 2);
  const iterations = Number(flags.iters ?? 1);
  const engine = await initEngine({ threads, modelParameters: weightCount(parseHfConfig(llamaConfigJson(shape)), 'language') });

  const folder = mkdtempSync(join(tmpdir(), 'posttrain-llama-step-'));
  let result: Record<string, unknown>;
  try {
    initLlamaFolder(folder, shape, { seed: 0 });
    const spec = { kind: 'hf' as const, directory: folder };
    const policy = createModel(spec, 'language', 0);
    const reference = createModel(spec, 'language', 0);
    const adam = new Adam(policy.parameters.size, { learningRate: LEARNING_RATE, weightDecay: 0 });
    // One gradient buffer for every minibatch, as torch's .grad: a fresh (P) array per minibatch would leave the
    // previous one (538 MB at this shape) for the garbage collector at the memory peak.
    const gradientBuffer = new Float32Array(policy.parameters.size);
    const rng = new Rng(0);
    const times: Record<string, number[]> = {};
    let kernelTimes: KernelTimes | undefined;
    for (let iteration = 0; iteration <= iterations; iteration++) {
      if (iteration === 1 && flags.profile === true) kernelTimes = timeKernels(engine.backend);
      const phase = await grpoIteration(policy, reference, adam, rng, shape.vocab_size, gradientBuffer);
      if (iteration === 0) continue; // warm-up, as the peer
      for (const [name, seconds] of Object.entries(phase)) (times[name] ??= []).push(seconds);
    }
    const seconds = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
    const rows = PROMPTS * SAMPLES;
    result = {
      bench: 'llama-step',
      shape: { name: shapeName, ...shape, parameters: policy.parameters.size },
      backend: engine.backend,
      engine: engine.reason,
      threads: engine.threads,
      iterations,
      generated_tokens_per_s: round((rows * NEW_TOKENS) / seconds.generate!),
      trained_tokens_per_s: round((rows * (PROMPT_TOKENS + NEW_TOKENS - 1)) / seconds.train!),
      phase_seconds: Object.fromEntries(Object.entries(seconds).map(([name, value]) => [name, round(value, 4)])),
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
      ...(kernelTimes ? { kernel_ms: topKernels(kernelTimes, 25) } : {}),
    };
    policy.dispose();
    reference.dispose();
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }

  if (flags.layers !== undefined && flags['no-peer'] !== true) result.peer_unavailable = '--layers changes the shape; the peer runs only the named shapes';
  else if (flags['no-peer'] !== true) {
    const unavailable = pythonPeerUnavailable('torch_llama_step.py', ['torch']);
    if (unavailable) result.peer_unavailable = unavailable;
    else {
      const peer = await runPythonPeer('torch_llama_step.py', ['--shape', shapeName, '--threads', String(threads), '--iters', String(iterations)], 1_800_000, { peakRss: true });
      const peerGenerated = peer.generated_tokens_per_s as number;
      const peerTrained = peer.train_tokens_per_s as number;
      result.peer_generated_tokens_per_s = peerGenerated;
      result.peer_trained_tokens_per_s = peerTrained;
      result.peer_phase_seconds = peer.phase_seconds;
      result.peer_peak_rss_bytes = peer.peak_rss_bytes ?? null;
      result.generated_ratio = ratio(result.generated_tokens_per_s as number, peerGenerated);
      result.trained_ratio = ratio(result.trained_tokens_per_s as number, peerTrained);
      result.peak_rss_over_peer = ratio(result.peak_rss_bytes as number, peer.peak_rss_bytes as number);
      result.peer_torch = peer.torch;
    }
  }
  result.machine = machineInfo();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** One iteration; returns seconds per phase. */
async function grpoIteration(
  policy: CausalModel,
  reference: CausalModel,
  adam: Adam,
  rng: Rng,
  vocabSize: number,
  gradientBuffer: Float32Array,
): Promise<Record<string, number>> {
  const rows = PROMPTS * SAMPLES;
  const started = performance.now();
  const tokens = new Int32Array(rows * PROMPT_TOKENS);
  for (let p = 0; p < PROMPTS; p++) {
    const prompt = Array.from({ length: PROMPT_TOKENS }, () => Math.floor(rng.uniform() * vocabSize));
    for (let s = 0; s < SAMPLES; s++) tokens.set(prompt, (p * SAMPLES + s) * PROMPT_TOKENS);
  }
  const generation = await generate(policy, { tokens, batchSize: rows, length: PROMPT_TOKENS }, { maxNewTokens: NEW_TOKENS, rng, temperature: 1 });
  const generated = performance.now();

  const batch = (from: number, count: number): SequenceBatch => ({
    batchSize: count,
    promptLength: PROMPT_TOKENS,
    responseLength: NEW_TOKENS,
    sequences: generation.sequences.subarray(from * (PROMPT_TOKENS + NEW_TOKENS), (from + count) * (PROMPT_TOKENS + NEW_TOKENS)),
    attentionMask: generation.attentionMask.subarray(from * (PROMPT_TOKENS + NEW_TOKENS), (from + count) * (PROMPT_TOKENS + NEW_TOKENS)),
  });
  const scoreOf = async (model: CausalModel) => {
    const values = tf.tidy(() => actionLogProbs(model, batch(0, rows)));
    const data = (await values.data()) as Float32Array;
    values.dispose();
    return data;
  };
  const oldLogProbs = await scoreOf(policy);
  const referenceLogProbs = await scoreOf(reference);
  const scored = performance.now();

  const rewards = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    let even = 0;
    for (let t = 0; t < NEW_TOKENS; t++) even += generation.sequences[row * (PROMPT_TOKENS + NEW_TOKENS) + PROMPT_TOKENS + t]! % 2 === 0 ? 1 : 0;
    rewards[row] = even / NEW_TOKENS;
  }
  const advantages = tf.tidy(() => groupAdvantages(tf.tensor1d(rewards), SAMPLES, { scale: 'group' }).dataSync() as Float32Array);
  const perMinibatch = rows / MINIBATCHES;
  for (let minibatch = 0; minibatch < MINIBATCHES; minibatch++) {
    const from = minibatch * perMinibatch;
    const slice = (values: Float32Array) => tf.tensor2d(values.subarray(from * NEW_TOKENS, (from + perMinibatch) * NEW_TOKENS), [perMinibatch, NEW_TOKENS]);
    const { gradients } = await computeGradientsAsync(policy, () => {
      const logProbs = actionLogProbs(policy, batch(from, perMinibatch));
      const mask = tf.ones([perMinibatch, NEW_TOKENS]);
      const tokenAdvantages = tf.tile(tf.tensor2d(advantages.subarray(from, from + perMinibatch), [perMinibatch, 1]), [1, NEW_TOKENS]);
      const { loss } = ppoPolicyLoss(logProbs, slice(oldLogProbs), tokenAdvantages, mask, { clipLow: CLIP, clipHigh: CLIP, reduction: 'sequence-mean' });
      const kl = aggregateLoss(klPenalty(logProbs, slice(referenceLogProbs), 'k3'), mask, 'sequence-mean');
      return tf.add(loss, tf.mul(kl, KL_BETA)) as tf.Scalar;
    }, gradientBuffer);
    adam.step(policy.parameters.data, gradients);
    policy.refresh();
  }
  const trained = performance.now();
  return { generate: (generated - started) / 1000, score: (scored - generated) / 1000, train: (trained - scored) / 1000, total: (trained - started) / 1000 };
}

/** Parameters of a tied-embedding Llama of this shape (known before any weights exist, for the engine's choice). */
function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
