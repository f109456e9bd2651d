/**
 * A sweep trial as a training run: the tuned stage's trainer, built from the trial's values, runs on the sweep's
 * shared runtime in its own placement group(s) and run directory. Every `reportInterval` steps the metric goes to
 * the pruner; a prune aborts the trainer, which kills its actors and removes its placement groups in the same tick
 * (with `runtime.slurm`, a group the cluster could not hold is a Slurm job of its own, cancelled by that removal),
 * and the trial counts as released (`release_ms`) once those processes have exited.
 */
import { mkdirSync } from 'node:fs';
import { mean } from '../algorithms/statistics.ts';
import { ConfigError, PosttrainError } from '../runtime/errors.ts';
import type { ProgressBar, Runtime } from '../runtime/index.ts';
import type { MetricsRecord, RunSummary } from '../observe/index.ts';
import { METHODS, type StageName } from '../trainers/methods.ts';
import { actorsOfRemovedGroupsGone } from './runtime-checks.ts';
import type { SweepPlan } from './sweep-plan.ts';
import type { SweepTrial, TrialResult, TrialSignals } from './sweep-runner.ts';

/** Runtime errors that every trial would hit again: the sweep stops instead of failing trial after trial. */
const SWEEP_WIDE_CODES = new Set(['PLACEMENT_GROUP_INFEASIBLE', 'RESOURCES_INFEASIBLE']);

/** Trial user attribute: the trial's run directory (config.json, metrics.jsonl, summary.json, model). */
export const RUN_DIRECTORY_KEY = 'run_directory';

export interface TrainerTrialOptions {
  plan: SweepPlan;
  runtime: Runtime;
  /** Step-record field reported to the pruner, e.g. `goldReward`. */
  metric: string;
  /** Report every this many steps (the mean since the previous report). */
  reportInterval: number;
  /** A problem every trial would hit (an unknown metric, resources that can never fit): the sweep must stop. */
  onSweepProblem: (error: PosttrainError) => void;
  /** A progress bar per running trial (the sweep view's), if any. */
  trialBar?: (trialNumber: number, steps: number) => ProgressBar;
}

/**
 * The `runTrial` of `runSweep` for trainer-backed trials. The trial's value is the trainer summary's
 * `final<Metric>` (`goldReward` and `evalGoldReward` -> `finalGoldReward`, the held-out evaluation after training)
 * when the summary has one, else the last reported value.
 *
 * @example
 * const runTrial = trainerTrial({ plan, runtime, metric: 'goldReward', reportInterval: 4, onSweepProblem: stop });
 * await runSweep({ study, space: config.space, trials: 16, concurrency: 4, runTrial });
 */
export function trainerTrial(options: TrainerTrialOptions): (trial: SweepTrial, signals: TrialSignals) => Promise<TrialResult> {
  const { plan, runtime, metric, reportInterval } = options;
  let metricChecked = false;
  return async (trial, signals) => {
    const runDirectory = plan.trialDirectory(trial.number);
    // Made before it is recorded: a sweep killed while the trainer starts (its session opens the directory only
    // after looking for checkpoints) must not leave a trial whose recorded directory does not exist.
    mkdirSync(runDirectory, { recursive: true });
    trial.trial.setUserAttr(RUN_DIRECTORY_KEY, runDirectory);
    const trainer = new METHODS[plan.stage].Trainer(plan.trialInput(trial.params, trial.number) as never, { runtime, runDirectory, signal: signals.signal });
    // Released = reservation freed (at once, when the placement groups are removed) and the trial's processes gone.
    signals.onRelease(async () => {
      await trainer.abort();
      await actorsOfRemovedGroupsGone(runtime);
    });
    const steps = (trainer.config as unknown as { trainer: { steps: number } }).trainer.steps;
    const bar = options.trialBar?.(trial.number, steps);

    let window: number[] = [];
    let lastReported: number | undefined;
    trainer.on('step', (record: MetricsRecord) => {
      const value = record[metric];
      if (!metricChecked && !/^eval[A-Z]/.test(metric)) {
        metricChecked = true;
        if (typeof value !== 'number') return options.onSweepProblem(unknownMetric(metric, plan.stage, record));
      }
      if (typeof value === 'number' && Number.isFinite(value)) window.push(value);
      bar?.tick(1, typeof value === 'number' ? { [metric]: value } : {});
      if (record.step % reportInterval !== 0 || window.length === 0) return;
      lastReported = window.reduce((sum, item) => sum + item, 0) / window.length;
      window = [];
      signals.report(lastReported, record.step);
    });

    let summary: RunSummary;
    try {
      summary = await trainer.train();
    } catch (error) {
      if (error instanceof PosttrainError && SWEEP_WIDE_CODES.has(error.code)) options.onSweepProblem(error);
      throw error;
    } finally {
      bar?.done();
    }
    const final = summary[finalKey(metric)];
    const value = typeof final === 'number' ? final : (lastReported ?? mean(window));
    return { value, userAttrs: { steps: summary.steps ?? steps } };
  };
}

/** `goldReward` / `evalGoldReward` -> `finalGoldReward`: the summary field holding the metric after training. */
export function finalKey(metric: string): string {
  const base = metric.replace(/^eval(?=[A-Z])/, '');
  return `final${base.charAt(0).toUpperCase()}${base.slice(1)}`;
}

function unknownMetric(metric: string, stage: StageName, record: MetricsRecord): ConfigError {
  const available = Object.entries(record)
    .filter(([key, value]) => typeof value === 'number' && key !== 'step' && key !== 'wallTime')
    .map(([key]) => key);
  return new ConfigError([{ path: 'metric', message: `${metric} is not a metric of the ${stage} stage's steps; it logs ${available.join(', ')}` }]);
}

