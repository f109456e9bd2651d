import fs from 'node:fs';
import path from 'node:path';
import { PosttrainError } from '../runtime/errors.ts';
import { formatNumber } from './charts/scale.ts';
import type { PipelineData, RunData } from './formats.ts';
import { readPipeline, runDirectoryKind } from './pipeline-reader.ts';
import { readRun } from './run-reader.ts';
import { formatRunStatus, lastCheckpoint, plannedSteps, runState, stepsPerSecond } from './status.ts';

/**
 * A recipe's status: its state as a whole (finished, or which stage is running), then each stage's status as
 * `summarizeRun` gives it. For `recipe status runs/<name>`.
 *
 * @example
 * console.log(summarizePipeline('runs/ppo'));
 */
export function summarizePipeline(dir: string, options: { now?: number } = {}): string {
  return formatPipelineStatus(readPipeline(dir), options);
}

/**
 * `summarizePipeline` on a recipe already read.
 *
 * @example
 * formatPipelineStatus(readPipeline('runs/ppo'));
 */
export function formatPipelineStatus(pipeline: PipelineData, options: { now?: number } = {}): string {
  const lines = [`recipe ${pipeline.name} (${pipeline.dir})`, `  state        ${pipelineState(pipeline, options.now)}`];
  if (pipeline.stages.length === 0) lines.push('  no stage has started yet');
  for (const stage of pipeline.stages) {
    lines.push('', formatRunStatus(stage, { ...options, title: `stage ${stage.name} (${stage.dir})` }));
  }
  return lines.join('\n');
}

/** `finished`, `running stage ppo (2 of 3)`, or the state of the stage that stopped. */
function pipelineState(pipeline: PipelineData, now?: number): string {
  const current = pipeline.stages.find((stage) => !stage.summary);
  if (!current) return pipeline.summary ? `finished (${pipeline.stages.map((stage) => stage.name).join(' -> ')})` : 'all stages finished';
  const position = `${pipeline.stages.indexOf(current) + 1} of ${pipeline.stages.length} started`;
  return `stage ${current.name} (${position}) ${runState(current, now)}`;
}

/**
 * One line per run or recipe in a runs directory, newest activity first: name, state, stage, step, rate and last
 * checkpoint. For `recipe status` with no argument.
 *
 * @example
 * console.log(summarizeRunsDirectory('runs'));
 */
export function summarizeRunsDirectory(runsDir: string, options: { now?: number } = {}): string {
  const dir = path.resolve(runsDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new PosttrainError('RUN_NOT_FOUND', `no runs directory at ${dir}`, { path: dir });
  }
  const rows: { activity: number; cells: string[] }[] = [];
  const visit = (directory: string, prefix: string): void => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const full = path.join(directory, entry.name);
      const name = `${prefix}${entry.name}`;
      const kind = runDirectoryKind(full);
      if (kind === 'pipeline') {
        const pipeline = readPipeline(full);
        const current = pipeline.stages.find((stage) => !stage.summary) ?? pipeline.stages.at(-1);
        if (current) rows.push(row(name, current, current.name, pipeline.stages.every((stage) => stage.summary) ? 'finished' : undefined, options.now));
      } else if (kind === 'run') {
        const run = readRun(full);
        rows.push(row(name, run, String(run.session?.method ?? run.summary?.method ?? run.config?.method ?? '-'), undefined, options.now));
      } else if (kind === 'runs') {
        visit(full, `${name}/`);
      }
    }
  };
  visit(dir, '');
  if (rows.length === 0) return `no runs in ${dir}`;
  rows.sort((a, b) => b.activity - a.activity);
  const header = ['run', 'stage', 'state', 'step', 'steps/s', 'checkpoint'];
  return [`runs in ${dir}`, '', ...alignColumns([header, ...rows.map((entry) => entry.cells)])].join('\n');
}

function row(name: string, run: RunData, stage: string, stateOverride: string | undefined, now?: number): { activity: number; cells: string[] } {
  const last = run.metrics.at(-1);
  const total = plannedSteps(run);
  const rate = stepsPerSecond(run);
  const checkpoint = lastCheckpoint(run);
  const state = stateOverride ?? runState(run, now).replace(/ \(killed, crashed or interrupted\)$/, '');
  return {
    activity: last?.wallTime ?? run.session?.startedAt ?? 0,
    cells: [
      name,
      stage,
      state.length > 48 ? `${state.slice(0, 47)}…` : state,
      last ? `${last.step}${total === undefined ? '' : `/${total}`}` : '-',
      rate === undefined ? '-' : formatNumber(rate),
      checkpoint ? `step ${checkpoint.step}` : '-',
    ],
  };
}

function alignColumns(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((cells) => (cells[column] ?? '').length)));
  return rows.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

