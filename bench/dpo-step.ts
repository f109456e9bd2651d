/**
 * `npm run bench -- dpo-step [--iters 3] [--threads N] [--no-peer]`
 *
 * One DPO step of bench-S exactly as `shared/peers/torch_rlhf_step.py` defines it: 32 (chosen, rejected) pairs of
 * 48 random tokens, log-probs summed over the positions after the 16-token prompt, reference log-probs without
 * gradient, sigmoid loss with beta 0.1, one Adam update (lr 1e-6). One warm-up step, then `--iters` steps before
 * and `--iters` after the peer (same invocation); the JSON carries the median, the peer's figure and ours/peer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dpoLoss } from '../algorithms/index.ts';
import { Adam, BENCH_S, GPT, Rng, computeGradientsAsync, initEngine } from '../models/index.ts';
import { type SequenceBatch, actionLogProbs, scoreInChunks } from '../rollout/index.ts';
import { aroundPeer, machineInfo, ratio } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

const PAIRS = 32;
const LENGTH = 48;
const PROMPT = 16;

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { iters: 'number', threads: 'number', 'no-peer': 'boolean' });
  const iterations = Number(flags.iters ?? 3);
  const engine = await initEngine(flags.threads ? { threads: Number(flags.threads) } : {});
  const policy = new GPT(BENCH_S, { head: 'language', seed: 0 });
  const reference = new GPT(BENCH_S, { head: 'language', weights: policy.parameters.data });
  const optimizer = new Adam(policy.parameters.size, { learningRate: 1e-6 });
  const rng = new Rng(0);

  await dpoStep(policy, reference, optimizer, rng); // warm-up
  const runSteps = async () => {
    const seconds: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const start = performance.now();
      await dpoStep(policy, reference, optimizer, rng);
      seconds.push((performance.now() - start) / 1000);
    }
    return seconds;
  };
  const measured = await aroundPeer(runSteps, 'torch_rlhf_step.py', ['--threads', '2', '--iters', String(iterations)], flags['no-peer']);
  const { before, peer, unavailable } = measured;
  const after = measured.after ?? [];
  const stepSeconds = median([...before, ...after]);
  const pairsPerSecond = (seconds: number[]) => Math.round((PAIRS / median(seconds)) * 10) / 10;
  const ours = {
    dpo_pairs_per_s: Math.round((PAIRS / stepSeconds) * 10) / 10,
    dpo_step_seconds: Math.round(stepSeconds * 10000) / 10000,
    ours_before_and_after_peer: { before: pairsPerSecond(before), after: after.length ? pairsPerSecond(after) : null },
  };
  process.stdout.write(
    `${JSON.stringify({
      bench: 'dpo-step',
      model: 'bench-S',
      backend: engine.backend,
      threads: engine.threads,
      engine: engine.reason,
      iterations,
      ...ours,
      peer: peer ?? null,
      ...(unavailable ? { peer_unavailable: unavailable } : {}),
      ratio: { dpo_pairs_per_s: ratio(ours.dpo_pairs_per_s, peer?.dpo_pairs_per_s as number | undefined) },
      machine: machineInfo(),
      load_average: measured.load,
      note: 'median after one warm-up step, ours measured before and after the peer; the machine may be shared, compare figures from the same run only',
    })}\n`,
  );
}

/** Chosen responses are rows [0, PAIRS), rejected ones rows [PAIRS, 2 PAIRS), as in the peer. */
async function dpoStep(policy: GPT, reference: GPT, optimizer: Adam, rng: Rng): Promise<void> {
  const batch: SequenceBatch = {
    batchSize: 2 * PAIRS,
    promptLength: PROMPT,
    responseLength: LENGTH - PROMPT,
    sequences: Int32Array.from({ length: 2 * PAIRS * LENGTH }, () => rng.int(BENCH_S.vocabSize)),
    attentionMask: new Int32Array(2 * PAIRS * LENGTH).fill(1),
  };
  /** (2 PAIRS) summed reference log-probs, no gradient */
  const referenceSums = await scoreInChunks(batch, 2 * PAIRS, (chunk) => tf.tidy(() => tf.sum(actionLogProbs(reference, chunk), 1)));
  const { gradients } = await computeGradientsAsync(policy, () => {
    const policySums = tf.sum(actionLogProbs(policy, batch), 1) as tf.Tensor1D;
    const referenceTensor = tf.tensor1d(referenceSums);
    const half = (tensor: tf.Tensor1D, index: number) => tf.slice(tensor, [index * PAIRS], [PAIRS]) as tf.Tensor1D;
    return dpoLoss(half(policySums, 0), half(policySums, 1), half(referenceTensor, 0), half(referenceTensor, 1), { beta: 0.1, variant: 'sigmoid' }).loss;
  });
  optimizer.step(policy.parameters.data, gradients);
  policy.refresh();
}
