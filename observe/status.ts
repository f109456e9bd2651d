import { formatNumber } from './charts/scale.ts';
import type { TrialState } from '../tune/types.ts';
import type { CheckpointRecord, RunData, SweepData } from './formats.ts';
import { readRun } from './run-reader.ts';
import { sessionAlive } from './session-file.ts';
import { bestTrial, readSweep } from './sweep-reader.ts';

/** A run without a new metrics line for this long is reported as possibly stalled. */
const STALLED_AFTER_SECONDS = 300;
/** Steps per second is measured over this many most recent lines. */
const RATE_WINDOW = 20;

/**
 * The newest checkpoint a run directory records: `summary.lastCheckpoint`, or the last metrics line carrying a
 * `checkpoint` field, whichever is at the later step.
 *
 * @example
 * lastCheckpoint(readRun('runs/ppo-1')); // { step: 100, uri: 's3://ckpt/ppo-1/step-000100/' }
 */
export function lastCheckpoint(run: RunData): CheckpointRecord | undefined {
  let newest: CheckpointRecord | undefined;
  const consider = (candidate: unknown): void => {
    const record = candidate as CheckpointRecord | undefined;
    if (record && typeof record.step === 'number' && typeof record.uri === 'string' && (!newest || record.step >= newest.step)) {
      newest = record;
    }
  };
  for (const record of run.metrics) consider(record.checkpoint);
  consider(run.summary?.lastCheckpoint);
  return newest;
}

/**
 * A few lines saying where a run is: finished or running (and whether it seems stalled), the step, the rate in
 * steps/s and generated tokens/s, the latest rewards and KL, and the last checkpoint. For `recipe status RUN`.
 *
 * @example
 * console.log(summarizeRun('runs/ppo-1'));
 */
export function summarizeRun(runDir: string, options: { now?: number } = {}): string {
  return formatRunStatus(readRun(runDir), options);
}

/**
 * `summarizeRun` on a run already read.
 *
 * @example
 * formatRunStatus(readRun('runs/ppo-1'), { now: Date.now() / 1000 });
 */
export function formatRunStatus(run: RunData, options: { now?: number; title?: string } = {}): string {
  const lines = [options.title ?? `run ${run.name} (${run.dir})`];
  const last = run.metrics[run.metrics.length - 1];
  const summary = run.summary;
  lines.push(`  state        ${runState(run, options.now)}`);
  if (!summary && run.session?.metricsUrl && sessionAlive(run.session)) lines.push(`  metrics      ${run.session.metricsUrl}`);
  if (last) {
    const stage = typeof last.stage === 'string' ? ` (stage ${last.stage})` : '';
    const total = plannedSteps(run);
    lines.push(`  step         ${last.step}${total === undefined ? '' : ` of ${total}`}${stage}`);
    const rate = stepsPerSecond(run);
    if (rate !== undefined) lines.push(`  rate         ${formatNumber(rate)} steps/s`);
    const generation = generationRates(run);
    if (generation) {
      // Two figures that differ (warm-up, load): say which is which; the first is summary.json's.
      const lastStep = generation.lastStep === undefined ? '' : `; last step ${formatNumber(generation.lastStep)}`;
      lines.push(`  generation   ${formatNumber(generation.stage)} generated tokens/s over the stage's generate time${lastStep}`);
    }
    const latest = (['goldReward', 'modelReward', 'kl'] as const)
      .filter((field) => typeof last[field] === 'number')
      .map((field) => `${field} ${formatNumber(last[field] as number)}`);
    if (latest.length) lines.push(`  latest       ${latest.join(', ')}`);
  }
  if (summary && typeof summary.finalGoldReward === 'number') {
    const baseline = typeof summary.baselineGoldReward === 'number' ? ` (baseline ${formatNumber(summary.baselineGoldReward)})` : '';
    const kl = typeof summary.meanKl === 'number' ? `, mean KL ${formatNumber(summary.meanKl)}` : '';
    lines.push(`  gold reward  ${formatNumber(summary.finalGoldReward)}${baseline}${kl}`);
  }
  const checkpoint = lastCheckpoint(run);
  lines.push(`  checkpoint   ${checkpoint ? `step ${checkpoint.step} at ${checkpoint.uri}` : 'none recorded'}`);
  return lines.join('\n');
}

/**
 * One phrase for where a run is: `finished in 3m02s`; `running, last update 4s ago` (`(stalled or stopped?)` after
 * five silent minutes); `stopped: process 123 exited without writing a summary ...` when session.json names a
 * process of this host that is gone; `started, no metrics yet`.
 *
 * @example
 * runState(readRun('runs/ppo-1')); // 'finished in 12m40s'
 */
export function runState(run: RunData, now = Date.now() / 1000): string {
  const summary = run.summary;
  if (summary) {
    const wall = typeof summary.wallSeconds === 'number' ? ` in ${formatDuration(summary.wallSeconds)}` : '';
    const stopped = typeof summary.stoppedBy === 'string' ? ` (stopped early by ${summary.stoppedBy})` : '';
    return `finished${wall}${stopped}`;
  }
  const alive = run.session ? sessionAlive(run.session) : undefined;
  if (alive === false) return `stopped: process ${run.session?.pid} exited without writing a summary (killed, crashed or interrupted)`;
  const last = run.metrics[run.metrics.length - 1];
  if (!last) return 'started, no metrics yet';
  const age = typeof last.wallTime === 'number' ? now - last.wallTime : undefined;
  const ageText = age === undefined ? '' : `, last update ${formatDuration(Math.max(age, 0))} ago`;
  // On another host (or without session.json) silence is the only sign that a run has died.
  const stalled = age !== undefined && age > STALLED_AFTER_SECONDS ? ' (stalled or stopped?)' : '';
  return `running${ageText}${stalled}`;
}

/** The step count the run's config asks for (`trainer.steps`), when it says. */
export function plannedSteps(run: RunData): number | undefined {
  const steps = (run.config?.trainer as { steps?: unknown } | undefined)?.steps;
  return typeof steps === 'number' ? steps : undefined;
}

/** Steps per second over the most recent lines that carry a wall time. */
export function stepsPerSecond(run: RunData): number | undefined {
  const timed = run.metrics.filter((record) => typeof record.wallTime === 'number').slice(-RATE_WINDOW);
  if (timed.length < 2) return undefined;
  const first = timed[0] as { step: number; wallTime: number };
  const last = timed[timed.length - 1] as { step: number; wallTime: number };
  const seconds = last.wallTime - first.wallTime;
  return seconds > 0 ? (last.step - first.step) / seconds : undefined;
}

/**
 * Generated tokens per second of generation: over the whole stage (tokens / seconds spent in the generate phase,
 * which is what `summary.json`'s `generatedTokensPerSecond` holds; derived from the metrics lines while the run has
 * no summary) and on the latest step alone.
 *
 * @example
 * generationRates(readRun('runs/ppo/ppo')); // { stage: 2606, lastStep: 5555 }
 */
export function generationRates(run: RunData): { stage: number; lastStep?: number } | undefined {
  let tokens = 0;
  let seconds = 0;
  let lastStep: number | undefined;
  for (const record of run.metrics) {
    const rate = record.generatedTokensPerSecond;
    const generateSeconds = record.phaseSeconds?.generate;
    if (typeof rate !== 'number') continue;
    lastStep = rate;
    if (typeof generateSeconds === 'number') {
      tokens += rate * generateSeconds;
      seconds += generateSeconds;
    }
  }
  const summaryRate = run.summary?.generatedTokensPerSecond;
  if (typeof summaryRate === 'number') return { stage: summaryRate, lastStep };
  return seconds > 0 ? { stage: tokens / seconds, lastStep } : undefined;
}

const STATE_ORDER: TrialState[] = ['COMPLETE', 'PRUNED', 'FAIL', 'RUNNING', 'WAITING'];

/**
 * A sweep's state as text: trial counts by state, the best trial and its parameters, and a trial table. For
 * `recipe status SWEEP`.
 *
 * @example
 * console.log(summarizeSweep('runs/sweeps.db', { studyName: 'ppo-lr' }));
 */
export function summarizeSweep(dbPath: string, options: { studyName?: string; maxRows?: number } = {}): string {
  return formatSweepStatus(readSweep(dbPath, options), options.maxRows);
}

/**
 * `summarizeSweep` on a study already read.
 *
 * @example
 * formatSweepStatus(readSweep('runs/sweeps.db'), 20); // the 20 latest trials in the table
 */
export function formatSweepStatus(sweep: SweepData, maxRows = 50): string {
  const counts = STATE_ORDER.map((state) => [state, sweep.trials.filter((trial) => trial.state === state).length] as const)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state.toLowerCase()}`);
  const lines = [
    `study ${sweep.studyName} (${sweep.dbPath}), direction ${sweep.direction.toLowerCase()}`,
    `trials ${sweep.trials.length}${counts.length ? `: ${counts.join(', ')}` : ''}`,
  ];
  const best = bestTrial(sweep);
  if (best) {
    const params = Object.entries(best.params).map(([name, value]) => `${name}=${formatParam(value)}`).join(' ');
    lines.push(`best value ${formatNumber(best.value as number)} (trial ${best.number})${params ? `: ${params}` : ''}`);
  } else {
    lines.push('best value none yet (no complete trial)');
  }
  const paramNames = [...new Set(sweep.trials.flatMap((trial) => Object.keys(trial.params)))];
  const hasRelease = sweep.trials.some((trial) => typeof trial.userAttributes.release_ms === 'number');
  const header = ['#', 'state', 'value', 'steps', ...paramNames, ...(hasRelease ? ['release_ms'] : [])];
  const shown = sweep.trials.slice(-maxRows);
  const rows = shown.map((trial) => [
    String(trial.number),
    trial.state.toLowerCase(),
    trial.value === undefined ? '-' : formatNumber(trial.value),
    String(trial.intermediate.length),
    ...paramNames.map((name) => (name in trial.params ? formatParam(trial.params[name] ?? null) : '-')),
    ...(hasRelease ? [typeof trial.userAttributes.release_ms === 'number' ? formatNumber(trial.userAttributes.release_ms) : '-'] : []),
  ]);
  lines.push('', ...alignColumns([header, ...rows]));
  if (shown.length < sweep.trials.length) lines.push(`(${sweep.trials.length - shown.length} earlier trials not shown)`);
  return lines.join('\n');
}

function formatParam(value: string | number | boolean | null): string {
  return typeof value === 'number' ? formatNumber(value) : String(value);
}

function alignColumns(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => (column <= 1 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ').trimEnd());
}

/** `75` -> `1m15s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}
