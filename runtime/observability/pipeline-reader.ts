import fs from 'node:fs';
import path from 'node:path';
import { PosttrainError } from '../errors.ts';
import type { PipelineData, RunData, RunSummary } from './formats.ts';
import { CONFIG_FILE, METRICS_FILE, SUMMARY_FILE } from './metrics-writer.ts';
import { readRun } from './run-reader.ts';
import { SESSION_FILE } from './session-file.ts';

/** Files that make a directory a run (stage) directory. */
const RUN_FILES = [METRICS_FILE, CONFIG_FILE, SESSION_FILE];

/**
 * What a directory holds: a `run` (a trainer's run directory: metrics.jsonl, config.json or session.json), a
 * `pipeline` (a recipe's directory: one run directory per stage, plus the recipe's summary.json), or neither.
 *
 * @example
 * runDirectoryKind('runs/ppo');     // 'pipeline': runs/ppo/sft, runs/ppo/reward, runs/ppo/ppo
 * runDirectoryKind('runs/ppo/ppo'); // 'run'
 */
export function runDirectoryKind(dir: string): 'run' | 'pipeline' | undefined {
  if (!isDirectory(dir)) return undefined;
  if (RUN_FILES.some((file) => fs.existsSync(path.join(dir, file)))) return 'run';
  if (stageDirectories(dir).length > 0) return 'pipeline';
  // A run whose process has written nothing but its summary (or a frontier point) is still a run.
  return fs.existsSync(path.join(dir, SUMMARY_FILE)) ? 'run' : undefined;
}

/**
 * Read a recipe's directory: its summary (when the recipe finished) and each stage's run directory, in the order the
 * stages ran (the summary's order, else the order they started).
 *
 * @example
 * const pipeline = readPipeline('runs/ppo');
 * pipeline.stages.map((stage) => `${stage.name}: ${stage.metrics.length} steps`);
 */
export function readPipeline(dir: string): PipelineData {
  const pipelineDir = path.resolve(dir);
  if (!isDirectory(pipelineDir)) {
    throw new PosttrainError('RUN_NOT_FOUND', `no run directory at ${pipelineDir}`, { path: pipelineDir });
  }
  const summaryPath = path.join(pipelineDir, SUMMARY_FILE);
  let summary: RunSummary | undefined;
  if (fs.existsSync(summaryPath)) {
    try {
      summary = JSON.parse(fs.readFileSync(summaryPath, 'utf8')) as RunSummary;
    } catch (error) {
      throw new PosttrainError('RUN_FILE_INVALID', `${summaryPath}: not JSON (${(error as Error).message})`, { path: summaryPath });
    }
  }
  const order = Object.keys((summary?.stages as Record<string, unknown> | undefined) ?? {});
  const stages = stageDirectories(pipelineDir)
    .map((name) => readRun(path.join(pipelineDir, name)))
    .sort((a, b) => rank(order, a) - rank(order, b) || startedAt(a) - startedAt(b) || a.name.localeCompare(b.name));
  return { dir: pipelineDir, name: path.basename(pipelineDir), summary, stages };
}

function stageDirectories(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && RUN_FILES.some((file) => fs.existsSync(path.join(dir, entry.name, file))))
    .map((entry) => entry.name);
}

function rank(order: string[], run: RunData): number {
  const index = order.indexOf(run.name);
  return index < 0 ? order.length : index;
}

/** When a stage started: its session, else its first metrics line, else never (sorted last). */
function startedAt(run: RunData): number {
  return run.session?.startedAt ?? run.metrics[0]?.wallTime ?? Number.POSITIVE_INFINITY;
}

function isDirectory(dir: string): boolean {
  return fs.existsSync(dir) && fs.statSync(dir).isDirectory();
}
