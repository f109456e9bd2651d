/**
 * The trainer-backed sweep (`recipe sweep`): plan -> study -> one shared runtime -> the shared earlier stages once
 * -> trials of the tuned stage, `concurrency` at a time, each in its own placement group and run directory ->
 * a leak check through the runtime -> the sweep's summary. ARCHITECTURE.md section 5.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, PosttrainError } from '../runtime/errors.ts';
import { type Logger, rootLogger, type Runtime, Runtime as RuntimeClass } from '../runtime/index.ts';
import type { RunSummary } from '../observe/index.ts';
import type { ParamValue } from './distributions.ts';
import { createStudy, type Study } from './study.ts';
import { prunerFromConfig, samplerFromConfig, type SweepConfig } from './sweep-config.ts';
import { runSharedStages } from './shared-stages.ts';
import { planSweep, type SweepPlan } from './sweep-plan.ts';
import { retriedNumbers } from './sweep-recovery.ts';
import { RELEASE_MS_KEY, runSweep } from './sweep-runner.ts';
import { createSweepView } from './sweep-view.ts';
import { RUN_DIRECTORY_KEY, trainerTrial } from './trial-runner.ts';
import { leakedSince, type LeakReport, snapshotRuntime, trialsThatFit } from './runtime-checks.ts';

export interface LaunchSweepOptions {
  /** The validated sweep file (`loadSweepConfig`). */
  config: SweepConfig;
  /** The base recipe object: the default export of `config.baseRecipe`. */
  baseRecipe: unknown;
  /** Continue the study if it exists (`--resume`). Without it, a study that already has trials is an error. */
  resume?: boolean;
  /** Parent of the sweep's run directory (default: the base recipe's `logging.runsDirectory`). */
  runsDirectory?: string;
  /** Run on this runtime, which is left running; default: start one with the sweep's (or recipe's) nodes. */
  runtime?: Runtime;
  /** Aborting stops the sweep: running trials are released, failed and queued again for `--resume`. */
  signal?: AbortSignal;
  /** Progress bars (default: on a terminal, never in CI). */
  progress?: boolean;
  logger?: Logger;
}

/** The sweep's summary: printed by `recipe sweep` and written to `<runs>/<sweep>/summary.json`. */
export interface SweepReport {
  sweep: string;
  storage: string;
  directory: string;
  metric: string;
  direction: string;
  trials: { target: number; complete: number; pruned: number; failed: number; retried: number };
  best: { number: number; value: number; params: Record<string, ParamValue>; runDirectory: string | undefined } | null;
  /** Prune decision -> resources free, over every pruned trial of the study. */
  releaseMs: { count: number; p50: number | null; p99: number | null; max: number | null };
  /** Trials found lost (dead sweep, stale heartbeat) by this run and queued again. */
  lost: number[];
  /** True when the sweep was stopped (Ctrl-C) before its target; `--resume` continues it. */
  stopped: boolean;
  /** What the runtime still held of this sweep's trials after they ended (all zero when nothing leaked). */
  leaks: LeakReport;
  sharedStages: Record<string, RunSummary>;
  wallSeconds: number;
}

/**
 * Runs a whole sweep and returns its summary. The shared stages run once (or are reused when their models exist
 * for the same config); each trial then trains the tuned stage with its sampled values.
 *
 * @example
 * const config = await loadSweepConfig('recipes/sweep-ppo.ts');
 * const baseRecipe = (await import(resolve(config.baseRecipe))).default;
 * const report = await launchSweep({ config, baseRecipe });
 * console.log(report.best, report.releaseMs.p99);
 */
export async function launchSweep(options: LaunchSweepOptions): Promise<SweepReport> {
  const started = performance.now();
  const { config } = options;
  const logger = (options.logger ?? rootLogger()).child({ sweep: config.name });
  const plan = planSweep(config, options.baseRecipe, options.runsDirectory === undefined ? {} : { runsDirectory: options.runsDirectory });
  const study = openStudy(config, plan, options.resume === true);
  const runtime = options.runtime ?? (await startRuntime(config, plan, logger));
  try {
    await checkCapacity(config, plan, runtime);
    mkdirSync(plan.directory, { recursive: true });
    const sharedStages = await runSharedStages(plan, runtime, logger, options.signal);

    const before = await snapshotRuntime(runtime);
    const stop = new AbortController();
    const forward = () => stop.abort(options.signal?.reason);
    if (options.signal?.aborted) forward();
    options.signal?.addEventListener('abort', forward, { once: true });
    let problem: PosttrainError | undefined;
    const view = createSweepView({ total: config.nTrials, logger, ...(options.progress === undefined ? {} : { enabled: options.progress }) });
    let result;
    try {
      result = await runSweep({
        study,
        space: config.space,
        trials: config.nTrials,
        concurrency: config.concurrency,
        heartbeat: config.heartbeat,
        signal: stop.signal,
        onProgress: view.onProgress,
        runTrial: trainerTrial({
          plan,
          runtime,
          metric: config.metric,
          reportInterval: config.reportInterval,
          trialBar: view.trialBar,
          onSweepProblem: (error) => {
            problem ??= error;
            stop.abort(error);
          },
        }),
      });
    } finally {
      view.close();
      options.signal?.removeEventListener('abort', forward);
    }
    if (problem) throw problem;

    const leaks = await leakedSince(runtime, before);
    if (leaks.actors + leaks.placementGroups > 0 || !leaks.resourcesFree) logger.error({ leaks }, 'trials left actors or reservations behind');
    const report = summarize(config, plan, study, {
      lost: result.lost,
      stopped: result.stopped,
      leaks,
      sharedStages,
      wallSeconds: (performance.now() - started) / 1000,
    });
    writeFileSync(join(plan.directory, 'summary.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    if (!options.runtime) await runtime.shutdown();
  }
}

/** Creates the study, or continues it with `resume`; an existing study with trials and no `resume` is a mistake. */
function openStudy(config: SweepConfig, plan: SweepPlan, resume: boolean): Study {
  const study = createStudy({
    storage: config.storage,
    studyName: config.name,
    direction: config.direction,
    sampler: samplerFromConfig(config.sampler, config.space),
    pruner: prunerFromConfig(config.pruner),
    loadIfExists: true,
  });
  const existing = study.trials.length;
  if (existing > 0 && !resume) {
    throw new ConfigError([
      { path: 'name', message: `study '${config.name}' already has ${existing} trials in ${config.storage}; pass --resume to continue it, or give the sweep another name` },
    ]);
  }
  // Optuna users (and its dashboard) see where the trials' runs are.
  study.setUserAttr('base_recipe', config.baseRecipe);
  study.setUserAttr('metric', config.metric);
  study.setUserAttr('runs_directory', plan.directory);
  return study;
}

/** The sweep's runtime: the sweep file's nodes, else the base recipe's, else this machine as one node. */
async function startRuntime(config: SweepConfig, plan: SweepPlan, logger: Logger): Promise<Runtime> {
  const recipeRuntime = plan.baseStageConfig.runtime as { nodes?: { name?: string; resources: Record<string, number> }[]; address?: string };
  const nodes = config.nodes ?? recipeRuntime.nodes;
  return RuntimeClass.start({
    namespace: `sweep-${config.name}`,
    logger,
    ...(recipeRuntime.address ? { address: recipeRuntime.address } : {}),
    ...(nodes ? { nodes: nodes.map((node) => ({ ...node })) } : {}),
  });
}

/** `concurrency` trials must fit on the runtime at once, or the extra ones would wait for a reservation and time out. */
async function checkCapacity(config: SweepConfig, plan: SweepPlan, runtime: Runtime): Promise<void> {
  const resources = config.trial.resources;
  const stageRuntime = plan.baseStageConfig.runtime as { colocate: unknown; roles: Record<string, { groupSize?: number }>; slurm?: unknown };
  // With every role in one host per rank, a trial reserves one bundle per rank; other layouts are checked by the runtime.
  // With runtime.slurm a trial the cluster cannot hold is a Slurm job of its own (queued by Slurm), not a misfit.
  if (!resources || stageRuntime.colocate !== 'all' || stageRuntime.slurm !== undefined) return;
  const hosts = Math.max(1, ...Object.values(stageRuntime.roles).map((role) => role.groupSize ?? 1));
  const nodes = await runtime.nodes();
  const fit = trialsThatFit(nodes, resources, hosts);
  if (fit < config.concurrency) {
    const described = nodes.map((node) => `${node.nodeId} ${JSON.stringify(node.total)}`).join(', ');
    throw new ConfigError([
      {
        path: 'concurrency',
        message: `${config.concurrency} trials of ${hosts} x ${JSON.stringify(resources)} do not fit at once on the runtime's nodes (${described}); at most ${fit} do: lower concurrency or trial.resources`,
      },
    ]);
  }
}

function summarize(
  config: SweepConfig,
  plan: SweepPlan,
  study: Study,
  run: { lost: number[]; stopped: boolean; leaks: LeakReport; sharedStages: Record<string, RunSummary>; wallSeconds: number },
): SweepReport {
  const trials = study.trials;
  const retried = retriedNumbers(trials);
  const count = (state: string) => trials.filter((trial) => trial.state === state && !retried.has(trial.number)).length;
  const releases = trials.map((trial) => trial.userAttrs[RELEASE_MS_KEY]).filter((value): value is number => typeof value === 'number');
  let best: SweepReport['best'] = null;
  try {
    const trial = study.bestTrial;
    best = { number: trial.number, value: trial.value!, params: { ...trial.params }, runDirectory: trial.userAttrs[RUN_DIRECTORY_KEY] as string | undefined };
  } catch {
    best = null;
  }
  return {
    sweep: config.name,
    storage: config.storage,
    directory: plan.directory,
    metric: config.metric,
    direction: config.direction,
    trials: { target: config.nTrials, complete: count('COMPLETE'), pruned: count('PRUNED'), failed: count('FAIL'), retried: retried.size },
    best,
    releaseMs: { count: releases.length, p50: quantile(releases, 0.5), p99: quantile(releases, 0.99), max: releases.length ? Math.max(...releases) : null },
    lost: run.lost,
    stopped: run.stopped,
    leaks: run.leaks,
    sharedStages: run.sharedStages,
    wallSeconds: run.wallSeconds,
  };
}

/** Linear-interpolation quantile (numpy's default), or null for no values. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}
