/**
 * `npm run bench -- ppo-iteration [--iters 3] [--no-peer] [--no-dp]`
 *
 * The bench-S PPO iteration of ../shared/peers/torch_rlhf_step.py run through the REAL trainer: roles as actors,
 * experience and weights through the object store, the same shapes (64 prompts of 16 tokens, 32 generated tokens
 * without stopping at EOS, 4 epochs x 4 minibatches, clip 0.2, value clip 0.2, k1 KL 0.05, GAE 1 / 0.95). Two
 * layouts: every role colocated in one worker (the runtime's overhead over the in-process loop), and the policy
 * and value groups at data-parallel size 2 with two rollout workers. In the same invocation it runs the
 * in-process foundation bench (`ppo-step`) and, when python3 can import torch, the PyTorch peer.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BENCH_S, GPT } from '../models/index.ts';
import { saveModelFile } from '../models/model-file.ts';
import { RandomTokensTask } from '../models/tasks/index.ts';
import { PPOTrainer } from '../trainers/ppo-trainer.ts';
import type { PPOConfigInput } from '../trainers/ppo-config.ts';
import { loadAverage, machineInfo, median, parseFlags, pythonPeerUnavailable, ratio, runPythonPeer } from './_peer.ts';

const BATCH = 64;
const GENERATED = 32;

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args);
  const iterations = Number(flags.iters ?? 3);
  const directory = mkdtempSync(join(tmpdir(), 'posttrain-ppo-iteration-'));
  try {
    const models = writeRandomModels(directory);
    const base: PPOConfigInput = {
      name: 'bench',
      task: { name: 'random-tokens' },
      init: models,
      rollout: { batchSize: BATCH, stopAtEos: false },
      algo: { klCoef: 0.05, epochs: 4, minibatches: 4, clipRange: 0.2, valueClipRange: 0.2, gamma: 1, lambda: 0.95 },
      trainer: { steps: iterations + 1, learningRate: 1e-5, evalEvery: 0, evalPrompts: 1, evalSamplesPerPrompt: 1 },
      checkpoint: { everySteps: 0 },
      logging: { runsDirectory: directory, level: 'warn', progress: false },
    };
    // The in-process figure before and after the trainer layouts: on a 2-core machine it drifts by up to ~15%
    // between runs minutes apart, so the overhead is taken against the mean of both.
    const inProcessBefore = await runInProcessBench(iterations);
    const colocated = await timeTrainer({ ...base, name: 'colocated', runtime: { colocate: 'all' } });
    const dataParallel = flags['no-dp']
      ? undefined
      : await timeTrainer({
          ...base,
          name: 'data-parallel',
          runtime: { colocate: 'all', roles: { policy: { groupSize: 2 }, value: { groupSize: 2 }, rollout: { groupSize: 2 } } },
        });
    const inProcessAfter = await runInProcessBench(iterations);
    const inProcess = inProcessBefore && inProcessAfter ? Math.round(((inProcessBefore + inProcessAfter) / 2) * 10) / 10 : (inProcessBefore ?? inProcessAfter);
    // Data parallelism on 2 cores competes with threaded wasm, which already uses both cores in one process: the
    // single-thread in-process figure shows what the two ranks gain over one core.
    const inProcessOneThread = flags['no-dp'] ? undefined : await runInProcessBench(iterations, 1);
    // The machine's own ceiling for two ranks: two independent single-thread in-process loops at once, summed.
    // No data-parallel layout can beat it (it has no collectives, no object store, no driver).
    const twoIndependent = flags['no-dp'] ? undefined : await Promise.all([runInProcessBench(iterations, 1), runInProcessBench(iterations, 1)]);
    const twoCoreCeiling = twoIndependent?.every((each) => each !== undefined) ? Math.round((twoIndependent[0]! + twoIndependent[1]!) * 10) / 10 : undefined;
    const peerSkip = flags['no-peer'] ? 'disabled by --no-peer' : pythonPeerUnavailable('torch_rlhf_step.py', ['torch']);
    const peer = peerSkip ? undefined : await runPythonPeer('torch_rlhf_step.py', ['--threads', '2', '--iters', String(iterations)]);
    const peerTokens = peer?.ppo_generated_tokens_per_s as number | undefined;
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'ppo-iteration',
          machine: machineInfo(),
          load_average_after: loadAverage(),
          generated_tokens_per_s: colocated.tokensPerSecond,
          in_process_generated_tokens_per_s: inProcess,
          peer_generated_tokens_per_s: peerTokens ?? null,
          runtime_overhead: inProcess ? 1 - colocated.tokensPerSecond / inProcess : null,
          data_parallel_generated_tokens_per_s: dataParallel?.tokensPerSecond ?? null,
          data_parallel_over_in_process: dataParallel && inProcess ? ratio(dataParallel.tokensPerSecond, inProcess) : null,
          in_process_before_and_after: { before: inProcessBefore ?? null, after: inProcessAfter ?? null },
          in_process_one_thread_generated_tokens_per_s: inProcessOneThread ?? null,
          data_parallel_over_in_process_one_thread: dataParallel && inProcessOneThread ? ratio(dataParallel.tokensPerSecond, inProcessOneThread) : null,
          two_independent_one_thread_loops_generated_tokens_per_s: twoCoreCeiling ?? null,
          data_parallel_fraction_of_two_independent_loops: dataParallel && twoCoreCeiling ? ratio(dataParallel.tokensPerSecond, twoCoreCeiling) : null,
          ours_over_peer: ratio(colocated.tokensPerSecond, peerTokens),
          phase_seconds: { colocated: colocated.phases, ...(dataParallel ? { data_parallel: dataParallel.phases } : {}) },
          configuration: {
            model: 'bench-S (2 layers, 4 heads, d 128, vocab 64, context 64)',
            rows: BATCH,
            generated_tokens: GENERATED,
            epochs: 4,
            minibatches: 4,
            iterations,
            layouts: {
              colocated: 'policy, reference, reward, value and rollout in one worker (threads = cores)',
              data_parallel: 'policy x2, value x2, rollout x2 data-parallel, reference and reward x1, colocated on 2 workers (1 thread each)',
            },
          },
          ...(peerSkip ? { peer_skipped: peerSkip } : { peer }),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Random bench-S weights for the policy (LM head) and the reward / value trunk (scalar head), as model files. */
function writeRandomModels(directory: string): { policy: string; reward: string } {
  const vocabSize = new RandomTokensTask().tokenizer.vocabSize;
  const config = { ...BENCH_S, vocabSize };
  for (const [name, head, seed] of [['policy', 'language', 0], ['reward', 'reward', 1]] as const) {
    const model = new GPT(config, { head, seed });
    saveModelFile(directory, name, { config, head, manifest: model.parameters.manifest, weights: model.parameters.data });
  }
  return { policy: join(directory, 'policy'), reward: join(directory, 'reward') };
}

/** Runs the trainer; the first iteration is warm-up, the rest give the median phase times. */
async function timeTrainer(config: PPOConfigInput): Promise<{ tokensPerSecond: number; phases: Record<string, number> }> {
  const steps: Record<string, number>[] = [];
  const trainer = new PPOTrainer(config);
  trainer.on('step', (record) => steps.push(record.phaseSeconds as Record<string, number>));
  await trainer.train();
  const measured = steps.slice(1);
  const phases: Record<string, number> = {};
  for (const phase of Object.keys(measured[0] ?? {})) phases[phase] = median(measured.map((step) => step[phase] ?? 0));
  const totals = measured.map((step) => Object.values(step).reduce((sum, seconds) => sum + seconds, 0));
  phases.total = median(totals);
  return { tokensPerSecond: Math.round(((BATCH * GENERATED) / phases.total) * 10) / 10, phases };
}

/** The foundation bench in its own process (its own engine; threads = cores unless given), without the peer. */
async function runInProcessBench(iterations: number, threads?: number): Promise<number | undefined> {
  const threadFlags = threads === undefined ? [] : ['--threads', String(threads)];
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'run.ts'), 'ppo-step', '--no-peer', '--iters', String(iterations), ...threadFlags], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const result = JSON.parse(stdout) as { ppo_generated_tokens_per_s?: number };
  return result.ppo_generated_tokens_per_s;
}
