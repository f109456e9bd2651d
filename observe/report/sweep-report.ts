import fs from 'node:fs';
import path from 'node:path';
import { parallelCoordinates, type ParallelAxis } from '../charts/parallel-coordinates.ts';
import { formatNumber } from '../charts/scale.ts';
import { escapeHtml } from '../charts/svg.ts';
import { xyChart, type XYSeries } from '../charts/xy-chart.ts';
import type { SweepData, SweepTrial } from '../formats.ts';
import { bestTrial, readSweep } from '../sweep-reader.ts';
import { cards, htmlPage, section, table } from './page.ts';
import type { ReportOptions, ReportResult } from './run-report.ts';

/** Colours by trial state, so a pruned trial reads as pruned at a glance. */
const STATE_COLORS = { COMPLETE: '#4e79a7', PRUNED: '#f28e2b', RUNNING: '#59a14f', best: '#d62728' } as const;

/**
 * Write a sweep's report: counts by state and the best trial, every trial's intermediate values (pruned trials end
 * in a cross where they were stopped), the objective by trial with the best-so-far line, a parallel-coordinates
 * plot of the parameters of complete trials coloured by objective, and a table of all trials.
 *
 * Parallel coordinates rather than parameter importance: importance needs a model of the objective (Optuna fits
 * fANOVA on a random forest), which a handful of trials cannot support honestly; parallel coordinates show the raw
 * trials and let the reader see which ranges did well.
 *
 * @example
 * writeSweepReport('runs/sweeps.db', { studyName: 'ppo-lr', out: 'sweep.html' });
 */
export function writeSweepReport(dbPath: string, options: ReportOptions & { studyName?: string } = {}): ReportResult {
  const sweep = readSweep(dbPath, { studyName: options.studyName });
  const out = path.resolve(options.out ?? path.join(path.dirname(dbPath), `${sweep.studyName}-report.html`));
  const { html, charts } = sweepReportBody(sweep);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    htmlPage({
      title: options.title ?? `Sweep ${sweep.studyName}`,
      subtitle: `${sweep.direction.toLowerCase()} · ${path.resolve(dbPath)}`,
      body: html,
    }),
  );
  return { path: out, charts };
}

/**
 * The body of a sweep report, for embedding in other pages.
 *
 * @example
 * const { html, charts } = sweepReportBody(readSweep('runs/sweeps.db'));
 */
export function sweepReportBody(sweep: SweepData): { html: string; charts: string[] } {
  const best = bestTrial(sweep);
  const charts: string[] = [];
  const figures: string[] = [];
  const count = (state: string): number => sweep.trials.filter((trial) => trial.state === state).length;
  const parts = [
    cards([
      { label: 'trials', value: String(sweep.trials.length) },
      { label: 'complete', value: String(count('COMPLETE')) },
      { label: 'pruned', value: String(count('PRUNED')) },
      { label: 'failed', value: String(count('FAIL')) },
      { label: 'running / waiting', value: `${count('RUNNING')} / ${count('WAITING')}` },
      { label: 'best value', value: best ? `${formatNumber(best.value as number)} (trial ${best.number})` : 'none yet' },
    ]),
  ];

  const withCurves = sweep.trials.filter((trial) => trial.intermediate.length > 0);
  if (withCurves.length > 0) {
    charts.push('intermediate-values');
    figures.push(intermediateChart(withCurves, best));
  }
  const valued = sweep.trials.filter((trial) => trial.value !== undefined && (trial.state === 'COMPLETE' || trial.state === 'PRUNED'));
  if (valued.length > 0) {
    charts.push('objective-history');
    figures.push(historyChart(sweep, valued));
  }
  const parallel = parallelChart(sweep, best);
  if (parallel) {
    charts.push('parameters');
    figures.push(parallel);
  }
  parts.push(
    section(
      'Trials',
      figures.length ? `<div class="grid">${figures.join('')}</div>` : '<p class="empty">No trial has reported a value yet.</p>',
    ),
  );
  if (best) parts.push(section('Best trial', bestTrialTable(best)));
  parts.push(section('All trials', trialTable(sweep, best)));
  return { html: parts.join('\n'), charts };
}

function intermediateChart(trials: SweepTrial[], best: SweepTrial | undefined): string {
  const series: XYSeries[] = trials
    .map((trial): XYSeries => {
      const isBest = trial === best;
      const stateColor = STATE_COLORS[trial.state as keyof typeof STATE_COLORS] ?? '#8c959f';
      return {
        name: `trial ${trial.number} (${trial.state.toLowerCase()})`,
        points: trial.intermediate.map((point) => ({ x: point.step, y: point.value })),
        color: isBest ? STATE_COLORS.best : stateColor,
        mode: trial.intermediate.length === 1 ? 'markers' : 'line',
        dashed: trial.state === 'RUNNING',
        endMarker: trial.state === 'PRUNED' ? 'cross' : undefined,
        hideFromLegend: true,
      };
    })
    // The best trial last, so it is drawn on top.
    .sort((a, b) => Number(a.color === STATE_COLORS.best) - Number(b.color === STATE_COLORS.best));
  return xyChart({
    id: 'intermediate-values',
    title: 'Intermediate values by trial',
    xLabel: 'step',
    yLabel: 'reported value',
    series,
    legendExtras: [
      { name: 'complete', color: STATE_COLORS.COMPLETE },
      { name: 'pruned (x where stopped)', color: STATE_COLORS.PRUNED, marker: 'cross' },
      { name: 'running', color: STATE_COLORS.RUNNING },
      ...(best ? [{ name: `best (trial ${best.number})`, color: STATE_COLORS.best }] : []),
    ],
  });
}

function historyChart(sweep: SweepData, valued: SweepTrial[]): string {
  const sign = sweep.direction === 'MAXIMIZE' ? 1 : -1;
  const bestSoFar: { x: number; y: number }[] = [];
  let running: number | undefined;
  for (const trial of [...sweep.trials].sort((a, b) => a.number - b.number)) {
    if (trial.state === 'COMPLETE' && trial.value !== undefined && Number.isFinite(trial.value)) {
      if (running === undefined || sign * trial.value > sign * running) running = trial.value;
    }
    if (running !== undefined) bestSoFar.push({ x: trial.number, y: running });
  }
  const pointsOf = (state: string): { x: number; y: number; label: string }[] =>
    valued
      .filter((trial) => trial.state === state)
      .map((trial) => ({ x: trial.number, y: trial.value as number, label: `trial ${trial.number}: ${formatNumber(trial.value as number)} (${state.toLowerCase()})` }));
  const series: XYSeries[] = [
    { name: 'complete', points: pointsOf('COMPLETE'), mode: 'markers', color: STATE_COLORS.COMPLETE },
    { name: 'pruned (last reported value)', points: pointsOf('PRUNED'), mode: 'markers', color: STATE_COLORS.PRUNED },
    { name: 'best so far', points: bestSoFar, color: STATE_COLORS.best },
  ].filter((entry) => entry.points.length > 0) as XYSeries[];
  return xyChart({ id: 'objective-history', title: 'Objective value by trial', xLabel: 'trial number', yLabel: 'objective', series });
}

function parallelChart(sweep: SweepData, best: SweepTrial | undefined): string | undefined {
  const complete = sweep.trials.filter((trial) => trial.state === 'COMPLETE' && trial.value !== undefined && Number.isFinite(trial.value));
  const names = [...new Set(complete.flatMap((trial) => Object.keys(trial.params)))];
  if (complete.length === 0 || names.length === 0) return undefined;
  const axes: ParallelAxis[] = names.map((name) => {
    const distribution = complete.find((trial) => trial.distributions[name])?.distributions[name];
    if (distribution?.kind === 'categorical') return { name, kind: 'categorical', choices: distribution.choices.map(String) };
    return { name, kind: distribution?.log ? 'log' : 'linear' };
  });
  axes.push({ name: 'objective', kind: 'linear' });
  return parallelCoordinates({
    id: 'parameters',
    title: 'Parameters of complete trials (parallel coordinates)',
    axes,
    colorLabel: `objective (${sweep.direction.toLowerCase()})`,
    lines: complete.map((trial) => ({
      label: `trial ${trial.number}: ${formatNumber(trial.value as number)}`,
      values: [
        ...names.map((name) => {
          const value = trial.params[name];
          if (value === undefined) return undefined;
          return axes[names.indexOf(name)]?.kind === 'categorical' ? String(value) : (value as number);
        }),
        trial.value,
      ],
      colorValue: (trial.value as number) * (sweep.direction === 'MAXIMIZE' ? 1 : -1),
      highlight: trial === best,
    })),
    note: `One line per complete trial, coloured by objective (${sweep.direction === 'MAXIMIZE' ? 'brighter is better' : 'brighter is lower, i.e. better'}); the best trial in red. Pruned trials are left out, as in Optuna's plot.`,
  });
}

function bestTrialTable(best: SweepTrial): string {
  const rows = [
    { cells: ['trial', String(best.number)] },
    { cells: ['value', formatNumber(best.value as number)] },
    ...Object.entries(best.params).map(([name, value]) => ({ cells: [name, typeof value === 'number' ? formatNumber(value) : String(value)] })),
    ...Object.entries(best.userAttributes).map(([name, value]) => ({ cells: [`user attribute ${name}`, JSON.stringify(value)] })),
  ];
  return table(['', 'trial'], rows, [0]);
}

function trialTable(sweep: SweepData, best: SweepTrial | undefined): string {
  const paramNames = [...new Set(sweep.trials.flatMap((trial) => Object.keys(trial.params)))];
  const attributeNames = [...new Set(sweep.trials.flatMap((trial) => Object.keys(trial.userAttributes)))];
  const headers = ['#', 'state', 'value', 'steps reported', ...paramNames, 'duration (s)', ...attributeNames];
  const rows = sweep.trials.map((trial) => ({
    className: trial === best ? 'best' : undefined,
    cells: [
      String(trial.number),
      { html: `<span class="state ${trial.state}">${escapeHtml(trial.state.toLowerCase())}</span>` },
      trial.value === undefined ? '-' : formatNumber(trial.value),
      String(trial.intermediate.length),
      ...paramNames.map((name) => {
        const value = trial.params[name];
        return value === undefined ? '-' : typeof value === 'number' ? formatNumber(value) : String(value);
      }),
      trial.durationSeconds === undefined ? '-' : formatNumber(trial.durationSeconds),
      ...attributeNames.map((name) => (name in trial.userAttributes ? formatAttribute(trial.userAttributes[name]) : '-')),
    ],
  }));
  return table(headers, rows, [0, 1]);
}

function formatAttribute(value: unknown): string {
  return typeof value === 'number' ? formatNumber(value) : typeof value === 'string' ? value : JSON.stringify(value);
}
