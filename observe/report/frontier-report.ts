import fs from 'node:fs';
import path from 'node:path';
import { PosttrainError } from '../../runtime/errors.ts';
import { formatNumber } from '../charts/scale.ts';
import { color } from '../charts/svg.ts';
import { xyChart, type XYSeries } from '../charts/xy-chart.ts';
import type { RunData } from '../formats.ts';
import { readRun } from '../run-reader.ts';
import { htmlPage, section, table } from './page.ts';
import type { ReportOptions, ReportResult } from './run-report.ts';

/**
 * Write the reward-KL frontier of several runs: final gold reward against KL to the reference, one point per run
 * and one connected series per method (PPO at several KL coefficients, DPO at several betas), the comparison of the
 * DPO paper's Figure 2 (Rafailov et al. 2023). Runs read `summary.json`: `finalGoldReward`, `finalKl` (the KL on
 * the held-out prompts the gold reward was measured on; `meanKl` when a run has no final KL), and `method` /
 * `label` to group and name the points (falling back to `config.method` and the run name).
 *
 * @example
 * writeFrontierReport(['runs/ppo-kl0.02', 'runs/ppo-kl0.1', 'runs/dpo-beta0.1'], { out: 'frontier.html' });
 */
export function writeFrontierReport(runDirs: string[], options: ReportOptions = {}): ReportResult {
  if (runDirs.length === 0) {
    throw new PosttrainError('FRONTIER_EMPTY', 'the frontier needs at least one run directory', { path: 'runDirs' });
  }
  const runs = runDirs.map((dir) => readRun(dir));
  const out = path.resolve(options.out ?? 'frontier-report.html');
  const { html, charts } = frontierSection(runs);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    htmlPage({ title: options.title ?? 'Reward-KL frontier', subtitle: `${runs.length} runs`, body: html }),
  );
  return { path: out, charts };
}

/**
 * The frontier chart and its table for runs already read; a section for other pages (a bench report, a run report).
 * Runs missing `meanKl` or `finalGoldReward` are listed as skipped; if none has both it throws, naming them.
 *
 * @example
 * const { html } = frontierSection(['runs/ppo-kl0.05', 'runs/dpo-beta0.1'].map((dir) => readRun(dir)));
 */
export function frontierSection(runs: RunData[]): { html: string; charts: string[] } {
  const points = runs.map((run) => ({
    run,
    // The same held-out prompts for both axes when the run measured it; PPO's mean KL over training otherwise.
    kl: typeof run.summary?.finalKl === 'number' ? run.summary.finalKl : run.summary?.meanKl,
    gold: run.summary?.finalGoldReward,
    method: String(run.summary?.method ?? run.config?.method ?? 'runs'),
    label: String(run.summary?.label ?? run.name),
  }));
  const usable = points.filter(
    (point): point is typeof point & { kl: number; gold: number } =>
      typeof point.kl === 'number' && Number.isFinite(point.kl) && typeof point.gold === 'number' && Number.isFinite(point.gold),
  );
  const skipped = points.filter((point) => !usable.includes(point as (typeof usable)[number]));
  if (usable.length === 0) {
    throw new PosttrainError(
      'FRONTIER_NO_DATA',
      `no run has summary.json with numeric finalKl (or meanKl) and finalGoldReward: ${skipped.map((point) => point.run.dir).join(', ')}`,
      { path: 'summary.json' },
    );
  }
  const methods = [...new Set(usable.map((point) => point.method))];
  const series: XYSeries[] = methods.map((method, index) => ({
    name: method,
    color: color(index),
    mode: 'line+markers',
    points: usable
      .filter((point) => point.method === method)
      .sort((a, b) => a.kl - b.kl)
      .map((point) => ({ x: point.kl, y: point.gold, tag: point.label, label: `${method} ${point.label}: KL ${formatNumber(point.kl)}, gold reward ${formatNumber(point.gold)}` })),
  }));
  const baselines = usable.map((point) => point.run.summary?.baselineGoldReward).filter((value): value is number => typeof value === 'number');
  const baseline = baselines.length ? baselines.reduce((sum, value) => sum + value, 0) / baselines.length : undefined;
  const chart = xyChart({
    id: 'frontier',
    title: 'Gold reward vs KL to the reference',
    xLabel: 'KL(pi || pi_ref)',
    yLabel: 'final gold reward',
    series,
    wide: true,
    referenceLines: baseline === undefined ? [] : [{ y: baseline, label: `SFT baseline ${formatNumber(baseline)}` }],
    note: 'One point per run; lines join the runs of one method in order of KL. Up and to the left is better: more reward for less drift from the reference (DPO paper, Figure 2).',
  });
  const rows = usable
    .sort((a, b) => a.method.localeCompare(b.method) || a.kl - b.kl)
    .map((point) => ({
      cells: [
        point.run.name,
        point.method,
        point.label,
        formatNumber(point.kl),
        formatNumber(point.gold),
        typeof point.run.summary?.baselineGoldReward === 'number' ? formatNumber(point.gold - point.run.summary.baselineGoldReward) : '-',
      ],
    }));
  const skippedNote = skipped.length
    ? `<p class="note">Skipped (no finalKl or meanKl, or no finalGoldReward in summary.json): ${skipped.map((point) => point.run.name).join(', ')}</p>`
    : '';
  const html = section('Reward-KL frontier', `<div class="grid">${chart}</div>`)
    + section('Runs', table(['run', 'method', 'label', 'KL', 'final gold reward', 'gain over baseline'], rows, [0, 1, 2]) + skippedNote);
  return { html, charts: ['frontier'] };
}
