/**
 * `npm run bench -- vocab-ops [--reps 5] [--threads 2] [--vocab 49152] [--no-peer]`
 *
 * The per-token work over a large vocabulary at SmolLM2's shapes (16 rows x 32 tokens, vocabulary 49152), next
 * to PyTorch (bench/_vocab_peer.py) in the same run, in milliseconds:
 * - `log_softmax_gather`: log pi(a_t | s_t) of the taken tokens from (B, T, V) logits, as rollout/log-probs.ts
 *   computes it (logSoftmax, then a one-hot product summed over V), without and with the gradient;
 * - `sample_step`: one generation step's sampling for B rows, as rollout/generate.ts does it (logits read back,
 *   then rollout/sampling.ts in JavaScript: sampleToken with the default options and with topK 50, plus the
 *   full-vocabulary tokenLogProb).
 * The LM head's product itself is in bench/matmul.ts (256x576x49152).
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../models/index.ts';
import { Rng } from '../models/rng.ts';
import { sampleToken, tokenLogProb } from '../rollout/sampling.ts';
import { loadAverage, machineInfo, PYTHON, ratio } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

const here = dirname(fileURLToPath(import.meta.url));

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { reps: 'number', threads: 'number', vocab: 'number', 'no-peer': 'boolean' });
  const reps = Number(flags.reps ?? 5);
  const threads = Number(flags.threads ?? 2);
  const [batch, length, vocab] = [16, 32, Number(flags.vocab ?? 49152)];
  const engine = await initEngine({ threads });
  const rng = new Rng(0);
  const logits = tf.randomNormal([batch, length, vocab]) as tf.Tensor3D;
  const targets = tf.tensor2d(Int32Array.from({ length: batch * length }, () => rng.int(vocab)), [batch, length], 'int32');
  const gather = (x: tf.Tensor3D) => tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(targets, vocab)), 2);
  const stepLogits = tf.randomNormal([batch, vocab]);
  const sampleStep = (topK: number) => {
    const values = stepLogits.dataSync() as Float32Array; // generate.ts reads each step's logits back
    for (let row = 0; row < batch; row++) {
      const { token } = sampleToken(values, row * vocab, vocab, topK ? { topK } : {}, rng.uniform());
      tokenLogProb(values, row * vocab, vocab, token);
    }
  };
  const ours = {
    log_softmax_gather_ms: ms(reps, () => tf.tidy(() => gather(logits))),
    log_softmax_gather_with_gradient_ms: ms(reps, () => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(gather(x as tf.Tensor3D)))(logits))),
    sample_step_ms: ms(reps, () => sampleStep(0)),
    sample_step_top_k_50_ms: ms(reps, () => sampleStep(50)),
  };
  const loadAfterOurs = loadAverage();
  const peer = flags['no-peer']
    ? undefined
    : (JSON.parse(
        execFileSync(PYTHON, [join(here, '_vocab_peer.py'), '--threads', String(threads), '--reps', String(reps), '--batch', String(batch), '--length', String(length), '--vocab', String(vocab)], {
          encoding: 'utf8',
        }).trim().split('\n').pop()!,
      ) as Record<string, number>);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'vocab-ops',
      shape: { batch, length, vocab },
      engine: engine.reason,
      threads,
      ours_ms: ours,
      peer_ms: peer ?? null,
      // peer ms / our ms: > 1 means we are faster.
      ratio: peer ? Object.fromEntries(Object.entries(ours).map(([name, value]) => [name, ratio(peer[name], value)])) : null,
      load_average: { after_ours: loadAfterOurs, after_peer: peer ? loadAverage() : null },
      machine: machineInfo(),
    })}\n`,
  );
}

/** Milliseconds per call of `run`, median over `reps` after one warm-up. */
function ms(reps: number, run: () => unknown): number {
  const once = () => {
    const start = performance.now();
    const result = run();
    if (result instanceof tf.Tensor) {
      result.dataSync();
      result.dispose();
    } else if (Array.isArray(result)) tf.dispose(result as tf.Tensor[]);
    return performance.now() - start;
  };
  once();
  return Math.round(median(Array.from({ length: reps }, once)) * 100) / 100;
}
