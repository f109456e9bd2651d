/**
 * `npm run bench -- ppo-step [--iters 3] [--threads N] [--rows 64] [--no-peer]`
 *
 * One PPO iteration of bench-S exactly as `shared/peers/torch_rlhf_step.py` defines it, in-process on the chosen
 * backend with our model, generation and algorithms: 64 prompts of 16 random tokens, 32 sampled tokens each (KV
 * cache) -> reference log-probs, reward scores, values -> per-token reward -0.05 * k1 + score at the end -> GAE
 * (gamma 1, lambda 0.95) -> whitened advantages -> 4 epochs x 4 minibatches of policy + value Adam updates (clip
 * 0.2, value clip 0.2). One warm-up iteration, then `--iters` iterations before and `--iters` after the peer
 * (which runs in the same invocation when python3 can import torch); the JSON carries the medians, the peer's
 * figures and ours/peer. `--rows` changes the batch (the peer keeps 64): `ppo-iteration` runs two 32-row loops at
 * once as the best a data-parallel pair splitting one 64-row batch could do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gae, klShapedRewards, ppoPolicyLoss, valueLoss, whiten } from '../algorithms/index.ts';
import { Adam, BENCH_S, GPT, Rng, computeGradientsAsync, initEngine } from '../models/index.ts';
import { actionLogProbs, actionValues, type ExperienceBatch, generate, scoreInChunks, selectExperienceRows, sequenceScores } from '../rollout/index.ts';
import { aroundPeer, machineInfo, ratio } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

const PROMPT = 16;
const GENERATED = 32;
const EPOCHS = 4;
const MINIBATCHES = 4;
const PHASES = ['generate', 'score', 'advantages', 'train', 'total'] as const;
type Phase = (typeof PHASES)[number];

interface Roles {
  policy: GPT;
  reference: GPT;
  reward: GPT;
  critic: GPT;
  policyOptimizer: Adam;
  criticOptimizer: Adam;
  rng: Rng;
  /** Prompts per iteration (the peer's 64 unless `--rows`). */
  rows: number;
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { iters: 'number', threads: 'number', rows: 'number', 'no-peer': 'boolean' });
  const rows = Number(flags.rows ?? 64);
  if (!Number.isInteger(rows) || rows < MINIBATCHES || rows % MINIBATCHES !== 0) throw new Error(`--rows must be a positive multiple of ${MINIBATCHES}, got ${flags.rows}`);
  const iterations = Number(flags.iters ?? 3);
  const engine = await initEngine(flags.threads ? { threads: Number(flags.threads) } : {});
  const policy = new GPT(BENCH_S, { head: 'language', seed: 0 });
  const critic = new GPT(BENCH_S, { head: 'value', seed: 2 });
  const roles: Roles = {
    policy,
    reference: new GPT(BENCH_S, { head: 'language', weights: policy.parameters.data }),
    reward: new GPT(BENCH_S, { head: 'reward', seed: 1 }),
    critic,
    policyOptimizer: new Adam(policy.parameters.size, { learningRate: 1e-5 }),
    criticOptimizer: new Adam(critic.parameters.size, { learningRate: 1e-5 }),
    rng: new Rng(0),
    rows,
  };

  await ppoIteration(roles); // warm-up
  const runIterations = async () => {
    const times: Record<Phase, number[]> = { generate: [], score: [], advantages: [], train: [], total: [] };
    for (let i = 0; i < iterations; i++) {
      const phases = await ppoIteration(roles);
      for (const phase of PHASES) times[phase].push(phases[phase]);
    }
    return times;
  };
  // The figures are medians over our runs before and after the peer.
  const { before, after, peer, unavailable, load } = await aroundPeer(runIterations, 'torch_rlhf_step.py', ['--threads', '2', '--iters', String(iterations)], flags['no-peer']);
  const all = (phase: Phase) => [...before[phase], ...(after?.[phase] ?? [])];
  const phaseSeconds = Object.fromEntries(PHASES.map((phase) => [phase, round(median(all(phase)), 4)])) as Record<Phase, number>;
  const throughput = (totals: number[]) => round((rows * GENERATED) / median(totals), 1);
  const ours = {
    ppo_generated_tokens_per_s: round((rows * GENERATED) / phaseSeconds.total, 1),
    ppo_phase_seconds: phaseSeconds,
    ours_before_and_after_peer: { before: throughput(before.total), after: after ? throughput(after.total) : null },
  };
  const peerPhases = peer?.ppo_phase_seconds as Record<Phase, number> | undefined;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'ppo-step',
      model: 'bench-S',
      backend: engine.backend,
      threads: engine.threads,
      engine: engine.reason,
      iterations,
      rows,
      ...ours,
      peer: peer ?? null,
      ...(unavailable ? { peer_unavailable: unavailable } : {}),
      ratio: {
        ppo_generated_tokens_per_s: ratio(ours.ppo_generated_tokens_per_s, peer?.ppo_generated_tokens_per_s as number | undefined),
        // Phase ratios are peer seconds / our seconds, so that > 1 means we are faster, like the throughput ratio.
        phases: peerPhases ? Object.fromEntries(PHASES.map((phase) => [phase, ratio(peerPhases[phase], phaseSeconds[phase])])) : null,
      },
      machine: machineInfo(),
      // 1-minute load average after our run and after the peer's: the machine may be shared; a gap between them skews the ratio.
      load_average: load,
      note: 'medians after one warm-up iteration, ours measured before and after the peer; the machine may be shared, compare figures from the same run only',
    })}\n`,
  );
}

/** One PPO iteration; returns seconds per phase, as the peer measures them. */
async function ppoIteration(roles: Roles): Promise<Record<Phase, number>> {
  const { policy, reference, reward, critic, rng, rows } = roles;
  const start = performance.now();

  // --- generate ----------------------------------------------------------------------------------------
  const prompts = Int32Array.from({ length: rows * PROMPT }, () => rng.int(BENCH_S.vocabSize));
  const rollout = await generate(policy, { tokens: prompts, batchSize: rows, length: PROMPT }, { maxNewTokens: GENERATED, rng });
  const afterGenerate = performance.now();

  // --- score: reference log-probs, reward scores, values -------------------------------------------------
  const experience: ExperienceBatch = {
    ...rollout,
    weightVersion: 0,
    weightChecksum: '',
    referenceLogProbs: await scoreInChunks(rollout, rows, (chunk) => actionLogProbs(reference, chunk)),
    scores: await scoreInChunks(rollout, rows, (chunk) => sequenceScores(reward, chunk)),
    values: await scoreInChunks(rollout, rows, (chunk) => actionValues(critic, chunk)),
  };
  const afterScore = performance.now();

  // --- advantages: KL-shaped rewards, GAE, whitening -----------------------------------------------------
  const shape: [number, number] = [rows, GENERATED];
  const [advantages, returns] = tf.tidy(() => {
    const mask = tf.tensor2d(experience.actionMask, shape);
    const { rewards } = klShapedRewards(tf.tensor1d(experience.scores!), tf.tensor2d(experience.logProbs, shape), tf.tensor2d(experience.referenceLogProbs!, shape), mask, {
      beta: 0.05,
      estimator: 'k1',
    });
    const estimate = gae(rewards, tf.tensor2d(experience.values!, shape), mask, { gamma: 1, lambda: 0.95 });
    return [whiten(estimate.advantages, mask), estimate.returns];
  });
  experience.advantages = (await advantages.data()) as Float32Array;
  experience.returns = (await returns.data()) as Float32Array;
  tf.dispose([advantages, returns]);
  const afterAdvantages = performance.now();

  // --- train: epochs x minibatches of policy and value updates -------------------------------------------
  const minibatchSize = rows / MINIBATCHES;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const order = rng.permutation(rows);
    for (let j = 0; j < MINIBATCHES; j++) {
      const minibatch = selectExperienceRows(experience, order.slice(j * minibatchSize, (j + 1) * minibatchSize));
      const minibatchShape: [number, number] = [minibatchSize, GENERATED];
      const tensor = (values: Float32Array) => tf.tensor2d(values, minibatchShape);
      const policyStep = await computeGradientsAsync(policy, () => {
        const logProbs = actionLogProbs(policy, minibatch);
        return ppoPolicyLoss(logProbs, tensor(minibatch.logProbs), tensor(minibatch.advantages!), tensor(minibatch.actionMask), { clipLow: 0.2, clipHigh: 0.2 }).loss;
      });
      roles.policyOptimizer.step(policy.parameters.data, policyStep.gradients);
      policy.refresh();
      const criticStep = await computeGradientsAsync(critic, () => {
        const values = actionValues(critic, minibatch);
        return valueLoss(values, tensor(minibatch.values!), tensor(minibatch.returns!), tensor(minibatch.actionMask), { clip: 0.2 }).loss;
      });
      roles.criticOptimizer.step(critic.parameters.data, criticStep.gradients);
      critic.refresh();
    }
  }
  const end = performance.now();
  return {
    generate: (afterGenerate - start) / 1000,
    score: (afterScore - afterGenerate) / 1000,
    advantages: (afterAdvantages - afterScore) / 1000,
    train: (end - afterAdvantages) / 1000,
    total: (end - start) / 1000,
  };
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
