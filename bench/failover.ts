/**
 * `npm run bench -- failover [--repeats 2] [--every 100] [--kill-at 150] [--steps 153]`: the time from SIGKILL of the worker that
 * holds the policy to the next completed step of a real PPO run (bench-S, rollout batch 16, every role colocated in
 * one worker, as on a laptop), with one warm spare and without.
 *
 * - `failover_seconds_with_spare`: a warm spare (process up, engine initialised, models built) takes over, every
 *   stateful role goes back to the previous step's state, and the failed step is retried.
 * - `failover_seconds_cold`: a new worker is started and its roles built from their model files, and the run goes
 *   back to its newest checkpoint. Checkpoints are every `--every` steps and the kill lands 10 ms into step
 *   `--kill-at`. The default is the production cadence (`checkpoint.everySteps` 100, the config default) with the
 *   kill halfway through an interval, where a failure at a random moment lands on average: the cold path redoes
 *   49 steps besides the failed one. `--every 5 --kill-at 11` is the cold path's best case (the kill right after a
 *   checkpoint); `--every 10 --kill-at 15` a short interval.
 * Both are medians over `--repeats` runs (each a fresh trainer); `step_seconds` is the median step time of the
 * same runs before the kill, so either figure can be read in steps.
 */
import { PPOTrainer } from '../trainers/ppo-trainer.ts';
import { Runtime } from '../runtime/index.ts';
import { benchPpoConfig, benchPpoRoot } from './_ppo-run.ts';
import { loadAverage, machineInfo } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

interface Measurement {
  failoverSeconds: number;
  stepSeconds: number;
  via: string;
  resumedFromStep: number;
  /** Seconds from the failure reaching the driver to the loop running again (detection + replacement). */
  replacementSeconds: number;
}

async function measure(runtime: Runtime, root: string, name: string, options: { spares: number; steps: number; killAt: number; every: number }): Promise<Measurement> {
  let killedAt: number | undefined;
  let failoverSeconds: number | undefined;
  const stepEnds: number[] = [];
  const trainer = new PPOTrainer(
    benchPpoConfig(root, {
      name,
      trainer: { steps: options.steps, learningRate: 1e-4, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 },
      checkpoint: { everySteps: options.every },
      runtime: { roles: { policy: { spares: options.spares } } },
    }),
    { runtime, faults: { kill: { role: 'policy', atStep: options.killAt, afterMs: 10, onKill: ({ at }) => (killedAt = at) } } },
  );
  trainer.on('step', (record) => {
    const now = performance.now();
    if (record.step < options.killAt) stepEnds.push(now);
    if (record.step === options.killAt && killedAt !== undefined) failoverSeconds ??= (now - killedAt) / 1000;
  });
  const summary = await trainer.train();
  const failover = (summary.failovers as { replaced: { via: string }[]; resumedFromStep: number; seconds: number }[] | undefined)?.[0];
  if (failoverSeconds === undefined || !failover) throw new Error(`run ${name}: the kill at step ${options.killAt} caused no fail-over`);
  const stepTimes = stepEnds.slice(1).map((end, index) => (end - stepEnds[index]!) / 1000);
  return { failoverSeconds, stepSeconds: median(stepTimes), via: failover.replaced[0]!.via, resumedFromStep: failover.resumedFromStep, replacementSeconds: failover.seconds };
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { repeats: 'number', every: 'number', 'kill-at': 'number', steps: 'number' });
  const repeats = Number(flags.repeats ?? 2);
  const every = Number(flags.every ?? 100);
  const killAt = Number(flags['kill-at'] ?? 150);
  const steps = Number(flags.steps ?? killAt + 3);
  const root = benchPpoRoot('failover');
  const runtime = await Runtime.start({ namespace: 'bench-failover' });
  try {
    const spare: Measurement[] = [];
    const cold: Measurement[] = [];
    // Interleaved, so that load drift on a shared machine hits both paths alike.
    for (let repeat = 0; repeat < repeats; repeat++) {
      spare.push(await measure(runtime, root, `spare-${repeat}`, { spares: 1, steps, killAt, every }));
      cold.push(await measure(runtime, root, `cold-${repeat}`, { spares: 0, steps, killAt, every }));
    }
    const withSpare = median(spare.map((each) => each.failoverSeconds));
    const withoutSpare = median(cold.map((each) => each.failoverSeconds));
    const round = (value: number) => Math.round(value * 1000) / 1000;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'failover',
        machine: machineInfo(),
        setup: { model: 'bench-S', task: 'sentiment', rolloutBatch: 16, colocate: 'all', checkpointEverySteps: every, killAtStep: killAt, stepsRedoneCold: (killAt - 1) % every, killAfterMs: 10, repeats },
        failover_seconds_with_spare: round(withSpare),
        failover_seconds_cold: round(withoutSpare),
        cold_over_spare: round(withoutSpare / withSpare),
        target: 'the spare path at least 5x faster (cold_over_spare >= 5)',
        step_seconds: round(median([...spare, ...cold].map((each) => each.stepSeconds))),
        replacement_seconds_with_spare: round(median(spare.map((each) => each.replacementSeconds))),
        replacement_seconds_cold: round(median(cold.map((each) => each.replacementSeconds))),
        samples: { with_spare: spare, cold },
        load_average_after: loadAverage(),
        note: 'compare figures from the same run only; failover = SIGKILL -> the failed step completed (it is redone in both paths)',
      })}\n`,
    );
  } finally {
    await runtime.shutdown();
  }
}
