/**
 * `npm run bench -- ppo-iteration [--iters 3] [--rounds 3] [--no-peer] [--no-dp]`
 *
 * The bench-S PPO iteration of ../shared/peers/torch_rlhf_step.py run through the REAL trainer: roles as actors,
 * experience and weights through the object store, the same shapes (64 prompts of 16 tokens, 32 generated tokens
 * without stopping at EOS, 4 epochs x 4 minibatches, clip 0.2, value clip 0.2, k1 KL 0.05, GAE 1 / 0.95). Two
 * layouts: every role colocated in one worker (the runtime's overhead over the in-process loop), and the policy
 * and value groups at data-parallel size 2 with two rollout workers, on two workers. In the same invocation it
 * runs the in-process foundation bench (`ppo-step`), the machine's two-rank ceiling (two independent
 * single-thread loops at once) and, when python3 can import torch, the PyTorch peer. `--rounds` repeats the
 * layouts interleaved; ratios are medians over rounds. `dp2_over_ceiling` (target 0.85) is data parallelism's figure
 * over the two-independent-loops ceiling of the same round: what the allreduce waits and per-rank step overhead cost.
 * `dp2_over_half_batch_ceiling` compares it with two independent loops of 32 rows each (a perfect split of the
 * batch), and `half_batch_ceiling_over_ceiling` is the most `dp2_over_ceiling` could reach with free collectives.
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
import { loadAverage, machineInfo, pythonPeerUnavailable, ratio, runPythonPeer } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

const BATCH = 64;
const GENERATED = 32;

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { iters: 'number', rounds: 'number', 'no-dp': 'boolean', 'no-peer': 'boolean' });
  const iterations = Number(flags.iters ?? 3);
  const roundCount = Number(flags.rounds ?? 3);
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
    // The machine is shared and its speed drifts by up to ~20% over minutes, so every figure is measured once per
    // round, rounds interleave all layouts, and each ratio is the median over rounds of figures taken minutes apart.
    const noDp = Boolean(flags['no-dp']);
    const rounds: Round[] = [];
    for (let round = 0; round < roundCount; round++) {
      const inProcess = await runInProcessBench(iterations);
      const colocated = await timeTrainer({ ...base, name: `colocated-${round}`, runtime: { colocate: 'all' } });
      const dataParallel = noDp ? undefined : await timeTrainer({ ...base, name: `data-parallel-${round}`, runtime: DATA_PARALLEL_RUNTIME });
      // Data parallelism on 2 cores competes with threaded wasm, which already uses both cores in one process: the
      // single-thread in-process figure shows what the two ranks gain over one core.
      const oneThread = noDp ? undefined : await runInProcessBench(iterations, 1);
      // The machine's own ceiling for two ranks: two independent single-thread in-process loops at once, summed.
      // No data-parallel layout can beat it (it has no collectives, no object store, no driver).
      const two = noDp ? undefined : await Promise.all([runInProcessBench(iterations, 1), runInProcessBench(iterations, 1)]);
      const twoLoops = sumOfBoth(two);
      // What a perfect data-parallel pair could do with the same 64-row batch: each rank runs 32 rows (8-row
      // minibatches), with free collectives. Every optimizer step has a cost that does not shrink with its rows (op
      // dispatch, Adam over all parameters), so this is below the full-batch ceiling above: their ratio is the most
      // dp2_over_ceiling can reach on this machine.
      const halves = noDp ? undefined : await Promise.all([runInProcessBench(iterations, 1, BATCH / 2), runInProcessBench(iterations, 1, BATCH / 2)]);
      const twoHalfLoops = sumOfBoth(halves);
      rounds.push({ inProcess, colocated, dataParallel, oneThread, twoLoops, twoHalfLoops });
    }
    const figure = (pick: (round: Round) => number | undefined): number | undefined => medianOf(rounds.map(pick));
    const perRound = (pick: (round: Round) => [number | undefined, number | undefined]): number | null => {
      const value = medianOf(rounds.map((round) => ratio(...pick(round)) ?? undefined));
      return value === undefined ? null : Math.round(value * 1000) / 1000;
    };
    const colocatedTokens = figure((round) => round.colocated.tokensPerSecond)!;
    const inProcess = figure((round) => round.inProcess);
    const dataParallelTokens = figure((round) => round.dataParallel?.tokensPerSecond);
    const overheadRatio = perRound((round) => [round.colocated.tokensPerSecond, round.inProcess]);
    const peerSkip = flags['no-peer'] ? 'disabled by --no-peer' : pythonPeerUnavailable('torch_rlhf_step.py', ['torch']);
    const peer = peerSkip ? undefined : await runPythonPeer('torch_rlhf_step.py', ['--threads', '2', '--iters', String(iterations)]);
    const peerTokens = peer?.ppo_generated_tokens_per_s as number | undefined;
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'ppo-iteration',
          machine: machineInfo(),
          load_average_after: loadAverage(),
          generated_tokens_per_s: colocatedTokens,
          in_process_generated_tokens_per_s: inProcess ?? null,
          peer_generated_tokens_per_s: peerTokens ?? null,
          runtime_overhead: overheadRatio === null ? null : Math.round((1 - overheadRatio) * 1000) / 1000,
          data_parallel_generated_tokens_per_s: dataParallelTokens ?? null,
          data_parallel_over_in_process: perRound((round) => [round.dataParallel?.tokensPerSecond, round.inProcess]),
          in_process_one_thread_generated_tokens_per_s: figure((round) => round.oneThread) ?? null,
          data_parallel_over_in_process_one_thread: perRound((round) => [round.dataParallel?.tokensPerSecond, round.oneThread]),
          two_independent_one_thread_loops_generated_tokens_per_s: figure((round) => round.twoLoops) ?? null,
          data_parallel_fraction_of_two_independent_loops: perRound((round) => [round.dataParallel?.tokensPerSecond, round.twoLoops]),
          // The restated target (issue 16): DP2 against the ceiling measured in the same round, median over rounds.
          dp2_over_ceiling: perRound((round) => [round.dataParallel?.tokensPerSecond, round.twoLoops]),
          dp2_over_ceiling_target: 0.85,
          two_independent_half_batch_loops_generated_tokens_per_s: figure((round) => round.twoHalfLoops) ?? null,
          // The part of the gap that is ours (collectives, skew between the ranks, the driver, the object store).
          dp2_over_half_batch_ceiling: perRound((round) => [round.dataParallel?.tokensPerSecond, round.twoHalfLoops]),
          // The most dp2_over_ceiling could be with free collectives: the rest of the gap is per-step cost.
          half_batch_ceiling_over_ceiling: perRound((round) => [round.twoHalfLoops, round.twoLoops]),
          // The most any two-rank layout could show against the in-process figure: when it is below the 1.5x
          // target, no data-parallel implementation can meet the target on this machine in that round.
          two_independent_loops_over_in_process: perRound((round) => [round.twoLoops, round.inProcess]),
          ours_over_peer: ratio(colocatedTokens, peerTokens),
          phase_seconds: {
            colocated: medianPhases(rounds.map((round) => round.colocated.phases)),
            ...(noDp ? {} : { data_parallel: medianPhases(rounds.map((round) => round.dataParallel!.phases)) }),
          },
          rounds: rounds.map((round) => ({
            in_process: round.inProcess ?? null,
            colocated: round.colocated.tokensPerSecond,
            data_parallel: round.dataParallel?.tokensPerSecond ?? null,
            in_process_one_thread: round.oneThread ?? null,
            two_independent_one_thread_loops: round.twoLoops ?? null,
            two_independent_half_batch_loops: round.twoHalfLoops ?? null,
          })),
          configuration: {
            model: 'bench-S (2 layers, 4 heads, d 128, vocab 64, context 64)',
            rows: BATCH,
            generated_tokens: GENERATED,
            epochs: 4,
            minibatches: 4,
            iterations,
            rounds: roundCount,
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

/**
 * The policy and value groups and the rollout workers at data-parallel size 2, all colocated: rank r of each in
 * worker r, reference and reward in worker 0. (Reference and reward at size 2 as well measured no better here,
 * and worse on two unshared cores of a larger machine: 319-349 vs 378-398 tok/s, score phase 0.69-0.71 vs 0.45-0.56 s.)
 */
const DATA_PARALLEL_RUNTIME: PPOConfigInput['runtime'] = {
  colocate: 'all',
  roles: { policy: { groupSize: 2 }, value: { groupSize: 2 }, rollout: { groupSize: 2 } },
};

interface Round {
  inProcess: number | undefined;
  colocated: TrainerTiming;
  dataParallel: TrainerTiming | undefined;
  oneThread: number | undefined;
  twoLoops: number | undefined;
  twoHalfLoops: number | undefined;
}

/** The two loops' figures summed, when both ran. */
function sumOfBoth(figures: (number | undefined)[] | undefined): number | undefined {
  return figures?.every((each) => each !== undefined) ? Math.round((figures[0]! + figures[1]!) * 10) / 10 : undefined;
}

interface TrainerTiming {
  tokensPerSecond: number;
  phases: Record<string, number>;
}

function medianOf(values: (number | undefined)[]): number | undefined {
  const present = values.filter((value): value is number => value !== undefined);
  return present.length ? median(present) : undefined;
}

function medianPhases(runs: Record<string, number>[]): Record<string, number> {
  return Object.fromEntries(Object.keys(runs[0] ?? {}).map((phase) => [phase, Math.round(median(runs.map((phases) => phases[phase] ?? 0)) * 10000) / 10000]));
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
async function timeTrainer(config: PPOConfigInput): Promise<TrainerTiming> {
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
async function runInProcessBench(iterations: number, threads?: number, rows = BATCH): Promise<number | undefined> {
  const threadFlags = [...(threads === undefined ? [] : ['--threads', String(threads)]), '--rows', String(rows)];
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'run.ts'), 'ppo-step', '--no-peer', '--iters', String(iterations), ...threadFlags], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const result = JSON.parse(stdout) as { ppo_generated_tokens_per_s?: number };
  return result.ppo_generated_tokens_per_s;
}
