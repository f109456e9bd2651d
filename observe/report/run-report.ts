import fs from 'node:fs';
import path from 'node:path';
import { formatNumber } from '../charts/scale.ts';
import { escapeHtml } from '../charts/svg.ts';
import { stackedBarChart } from '../charts/stacked-bar-chart.ts';
import { xyChart, type XYSeries } from '../charts/xy-chart.ts';
import type { MetricsRecord, RunData } from '../formats.ts';
import { readRun } from '../run-reader.ts';
import { lastCheckpoint } from '../status.ts';
import { cards, htmlPage, section } from './page.ts';
import { smooth } from './smoothing.ts';
import { completionsHtml } from './completions.ts';

/** Options for the `write*Report` functions. */
export interface ReportOptions {
  /** Output file (default: `report.html` in the run directory, or beside the sweep database). */
  out?: string;
  /** Page title (default: from the run or study name). */
  title?: string;
}

/** What a report writer produced. */
export interface ReportResult {
  /** Absolute path of the HTML file. */
  path: string;
  /** Ids of the charts drawn (each a `figure[data-chart]` in the page). */
  charts: string[];
}

/** Headline metrics in the order they are charted, with their titles and axis labels. */
const KNOWN_CHARTS: { field: string; title: string; yLabel: string }[] = [
  { field: 'goldReward', title: 'Gold reward', yLabel: 'mean gold reward' },
  { field: 'modelReward', title: 'Reward-model score', yLabel: 'mean model reward' },
  { field: 'kl', title: 'KL to reference', yLabel: 'KL(pi || pi_ref)' },
  { field: 'policyLoss', title: 'Policy loss', yLabel: 'loss' },
  { field: 'valueLoss', title: 'Value loss', yLabel: 'loss' },
  { field: 'clipFraction', title: 'Clip fraction', yLabel: 'fraction clipped' },
  { field: 'entropy', title: 'Policy entropy', yLabel: 'nats per token' },
  { field: 'generatedTokensPerSecond', title: 'Generation throughput', yLabel: 'tokens / s' },
];

/** Fields that are bookkeeping, not curves. */
const NOT_CHARTED = new Set(['step', 'stage', 'wallTime', 'weightVersion', 'phaseSeconds', 'checkpoint', 'evalSamples']);

/** Series longer than this get a smoothed line over the faint raw one. */
const SMOOTH_FROM_POINTS = 30;
/** TensorBoard's default smoothing weight. */
const SMOOTHING_WEIGHT = 0.6;

/**
 * Write a run's report: headline figures, every curve in `metrics.jsonl` (headline metrics first, then any other
 * numeric field a stage logged), the phase-time breakdown per iteration as stacked bars, and the config.
 *
 * @example
 * const { path } = writeRunReport('runs/ppo-1', { out: 'ppo-1.html' });
 */
export function writeRunReport(runDir: string, options: ReportOptions = {}): ReportResult {
  const run = readRun(runDir);
  const out = path.resolve(options.out ?? path.join(run.dir, 'report.html'));
  const { html, charts } = runReportBody(run);
  const subtitle = [run.summary?.method?.toUpperCase(), run.summary?.backend && `backend ${run.summary.backend}`, run.dir]
    .filter(Boolean)
    .join(' · ');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, htmlPage({ title: options.title ?? `Run ${run.name}`, subtitle, body: html }));
  return { path: out, charts };
}

/**
 * The body of a run report (sections and charts), for embedding in other pages. With `stage`, lines without a
 * `stage` field are that stage's (chart ids get its prefix), as in a recipe's page.
 *
 * @example
 * const { html } = runReportBody(readRun('runs/ppo-1'));
 * fs.writeFileSync('page.html', htmlPage({ title: 'PPO', body: html }));
 */
export function runReportBody(run: RunData, options: { stage?: string } = {}): { html: string; charts: string[] } {
  const charts: string[] = [];
  const curves: { title: string; html: string }[] = [];
  for (const [stage, records] of groupByStage(run.metrics, options.stage)) {
    const figures = stageCharts(run, stage, records);
    charts.push(...figures.map((figure) => figure.id));
    const smoothed = records.length >= SMOOTH_FROM_POINTS
      ? `<p class="note">Faint lines: raw values; solid: exponential moving average (weight ${SMOOTHING_WEIGHT}, as TensorBoard). Hover a chart to read values.</p>`
      : '';
    curves.push({ title: `${stage ? `Stage ${stage}` : 'Curves'} (${records.length} steps)`, html: `${smoothed}<div class="grid">${figures.map((figure) => figure.html).join('')}</div>` });
  }
  if (run.metrics.length === 0) curves.push({ title: options.stage ? `Stage ${options.stage}` : 'Curves', html: '<p class="empty">No metrics logged yet.</p>' });
  const samples = completionsHtml(run.metrics, run.summary);
  const samplesNote = '<p class="note">Held-out prompts at each evaluation (the first sample of each), with the gold reward of what the policy wrote.</p>';
  const samplesPart = samples ? `${samplesNote}${samples}` : '';
  const config = run.config ? `<details><summary>config.json</summary><pre>${escapeHtml(JSON.stringify(run.config, null, 2))}</pre></details>` : '';
  if (options.stage) {
    // One stage of a recipe's page: its heading, its figures, its curves and its config in one section.
    const [first, ...rest] = curves;
    const html = section(first!.title, `${headline(run)}${first!.html}${samplesPart ? `<h3>What the policy says</h3>${samplesPart}` : ''}${config}`) + rest.map((part) => section(part.title, part.html)).join('\n');
    return { html, charts };
  }
  const parts = [headline(run), ...curves.map((part) => section(part.title, part.html))];
  if (samplesPart) parts.push(section('What the policy says', samplesPart));
  if (config) parts.push(section('Config', config));
  return { html: parts.join('\n'), charts };
}

function headline(run: RunData): string {
  const summary = run.summary;
  const entries: { label: string; value: string }[] = [];
  const number = (value: unknown): string | undefined => (typeof value === 'number' ? formatNumber(value) : undefined);
  if (summary) {
    const baseline = summary.baselineGoldReward;
    const final = summary.finalGoldReward;
    if (typeof final === 'number') {
      const gain = typeof baseline === 'number' ? ` (${final >= baseline ? '+' : ''}${formatNumber(final - baseline)})` : '';
      entries.push({ label: 'final gold reward', value: `${formatNumber(final)}${gain}` });
    }
    const pairs: [string, unknown][] = [
      ['baseline gold reward', baseline],
      ['mean KL', summary.meanKl],
      ['steps', summary.steps],
      ['wall time (s)', summary.wallSeconds],
      ['generated tokens/s (stage total / generate time)', summary.generatedTokensPerSecond],
    ];
    for (const [label, value] of pairs) {
      const text = number(value);
      if (text !== undefined) entries.push({ label, value: text });
    }
  } else if (run.metrics.length > 0) {
    entries.push({ label: 'status', value: 'running (no summary yet)' });
    entries.push({ label: 'latest step', value: String(run.metrics[run.metrics.length - 1]?.step) });
  }
  const checkpoint = lastCheckpoint(run);
  if (checkpoint) entries.push({ label: 'last checkpoint', value: `step ${checkpoint.step}` });
  return entries.length ? cards(entries) : '';
}

function groupByStage(records: MetricsRecord[], defaultStage = ''): Map<string, MetricsRecord[]> {
  const stages = new Map<string, MetricsRecord[]>();
  for (const record of records) {
    const stage = typeof record.stage === 'string' ? record.stage : defaultStage;
    const list = stages.get(stage) ?? [];
    list.push(record);
    stages.set(stage, list);
  }
  return stages;
}

function stageCharts(run: RunData, stage: string, records: MetricsRecord[]): { id: string; html: string }[] {
  const idPrefix = stage ? `${slug(stage)}-` : '';
  const figures: { id: string; html: string }[] = [];
  const numericFields = new Set<string>();
  for (const record of records) {
    for (const [field, value] of Object.entries(record)) {
      if (!NOT_CHARTED.has(field) && typeof value === 'number') numericFields.add(field);
    }
  }
  const ordered = [
    ...KNOWN_CHARTS.filter((chart) => numericFields.has(chart.field)),
    ...[...numericFields]
      .filter((field) => !KNOWN_CHARTS.some((chart) => chart.field === field))
      .map((field) => ({ field, title: humanize(field), yLabel: humanize(field) })),
  ];
  for (const chart of ordered) {
    const id = `${idPrefix}${slug(chart.field)}`;
    const baseline = run.summary?.baselineGoldReward;
    const referenceLines =
      chart.field === 'goldReward' && typeof baseline === 'number' ? [{ y: baseline, label: `baseline ${formatNumber(baseline)}` }] : [];
    figures.push({ id, html: curveChart(id, chart.title, chart.yLabel, chart.field, records, referenceLines) });
  }
  const phases = phaseChart(`${idPrefix}phase-seconds`, records);
  if (phases) figures.push(phases);
  return figures;
}

function curveChart(
  id: string,
  title: string,
  yLabel: string,
  field: string,
  records: MetricsRecord[],
  referenceLines: { y: number; label: string }[],
): string {
  const points = records
    .filter((record) => typeof record[field] === 'number')
    .map((record) => ({ x: record.step, y: record[field] as number }));
  const series: XYSeries[] = [];
  if (points.length >= SMOOTH_FROM_POINTS) {
    const smoothed = smooth(points.map((point) => point.y), SMOOTHING_WEIGHT);
    series.push({ name: `${humanize(field)} (raw)`, points, faint: true, color: '#4e79a7' });
    series.push({ name: humanize(field), points: points.map((point, index) => ({ x: point.x, y: smoothed[index] as number })), color: '#4e79a7' });
  } else {
    series.push({ name: humanize(field), points, mode: points.length <= 12 ? 'line+markers' : 'line', color: '#4e79a7' });
  }
  return xyChart({ id, title, xLabel: 'step', yLabel, series, referenceLines });
}

function phaseChart(id: string, records: MetricsRecord[]): { id: string; html: string } | undefined {
  const withPhases = records.filter((record) => record.phaseSeconds && typeof record.phaseSeconds === 'object');
  if (withPhases.length === 0) return undefined;
  const names: string[] = [];
  for (const record of withPhases) {
    for (const name of Object.keys(record.phaseSeconds ?? {})) if (!names.includes(name)) names.push(name);
  }
  const html = stackedBarChart({
    id,
    title: 'Time per phase of each iteration',
    xLabel: 'step',
    yLabel: 'seconds',
    x: withPhases.map((record) => record.step),
    layers: names.map((name) => ({ name, values: withPhases.map((record) => record.phaseSeconds?.[name]) })),
  });
  return { id, html };
}

/** `goldReward` -> `gold reward`. */
export function humanize(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
}

function slug(text: string): string {
  return text.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}
