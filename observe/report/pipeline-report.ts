import fs from 'node:fs';
import path from 'node:path';
import { formatNumber } from '../charts/scale.ts';
import type { PipelineData, RunData } from '../formats.ts';
import { readPipeline } from '../pipeline-reader.ts';
import { formatDuration, runState } from '../status.ts';
import { cards, htmlPage, section, table } from './page.ts';
import { runReportBody, type ReportOptions, type ReportResult } from './run-report.ts';

/**
 * Write a recipe's report: one page with the recipe's headline (gold reward before and after, the stages and their
 * state), then every stage's curves as `writeRunReport` draws them (SFT loss, reward-model accuracy, PPO's rewards,
 * KL, losses and phase times), each stage's charts prefixed with its name.
 *
 * @example
 * const { path } = writePipelineReport('runs/ppo', { out: 'ppo.html' });
 */
export function writePipelineReport(dir: string, options: ReportOptions = {}): ReportResult {
  const pipeline = readPipeline(dir);
  const out = path.resolve(options.out ?? path.join(pipeline.dir, 'report.html'));
  const { html, charts } = pipelineReportBody(pipeline);
  const subtitle = [`recipe: ${pipeline.stages.map((stage) => stage.name).join(' -> ') || 'no stage yet'}`, pipeline.dir].join(' · ');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, htmlPage({ title: options.title ?? `Recipe ${pipeline.name}`, subtitle, body: html }));
  return { path: out, charts };
}

/**
 * The body of a recipe's report, for embedding in other pages.
 *
 * @example
 * const { html, charts } = pipelineReportBody(readPipeline('runs/ppo'));
 */
export function pipelineReportBody(pipeline: PipelineData): { html: string; charts: string[] } {
  const charts: string[] = [];
  const parts = [headline(pipeline), section('Stages', stageTable(pipeline.stages))];
  for (const stage of pipeline.stages) {
    const body = runReportBody(stage, { stage: stage.name });
    charts.push(...body.charts);
    parts.push(`<div class="stage" id="stage-${stage.name}">${body.html}</div>`);
  }
  return { html: parts.join('\n'), charts };
}

/** Gold reward before the first stage that measures it and after the last one: what the recipe bought. */
function headline(pipeline: PipelineData): string {
  const summaries = pipeline.stages.map((stage) => stage.summary).filter((summary) => summary !== undefined);
  const baseline = summaries.find((summary) => typeof summary.baselineGoldReward === 'number')?.baselineGoldReward;
  const final = [...summaries].reverse().find((summary) => typeof summary.finalGoldReward === 'number');
  const entries: { label: string; value: string }[] = [];
  if (final && typeof final.finalGoldReward === 'number') {
    const gain = typeof baseline === 'number' ? ` (${final.finalGoldReward >= baseline ? '+' : ''}${formatNumber(final.finalGoldReward - baseline)})` : '';
    entries.push({ label: 'final gold reward', value: `${formatNumber(final.finalGoldReward)}${gain}` });
  }
  if (typeof baseline === 'number') entries.push({ label: 'baseline gold reward', value: formatNumber(baseline) });
  if (typeof final?.finalKl === 'number') entries.push({ label: 'final KL', value: formatNumber(final.finalKl) });
  const wall = summaries.reduce((sum, summary) => sum + (typeof summary.wallSeconds === 'number' ? summary.wallSeconds : 0), 0);
  if (wall > 0) entries.push({ label: 'wall time (stages run)', value: formatDuration(wall) });
  const current = pipeline.stages.find((stage) => !stage.summary);
  entries.push({ label: 'state', value: current ? `stage ${current.name}: ${runState(current).split(',')[0]}` : 'finished' });
  return cards(entries);
}

function stageTable(stages: RunData[]): string {
  if (stages.length === 0) return '<p class="empty">No stage has started yet.</p>';
  const rows = stages.map((stage) => {
    const summary = stage.summary;
    const value = (field: string): string => (typeof summary?.[field] === 'number' ? formatNumber(summary[field] as number) : '-');
    return {
      cells: [
        { html: `<a href="#stage-${stage.name}">${stage.name}</a>` },
        runState(stage),
        String(stage.metrics.at(-1)?.step ?? 0),
        typeof summary?.wallSeconds === 'number' ? formatDuration(summary.wallSeconds) : '-',
        value('finalGoldReward'),
        value('finalKl'),
        summary?.reused === true ? 'reused' : '',
      ],
    };
  });
  return table(['stage', 'state', 'steps', 'wall time', 'final gold reward', 'final KL', ''], rows, [0, 1, 6]);
}
