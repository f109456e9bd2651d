import fs from 'node:fs';
import path from 'node:path';
import { PosttrainError } from '../runtime/errors.ts';
import type { PipelineData, RunData, RunSummary } from './formats.ts';
import { CONFIG_FILE, METRICS_FILE, SUMMARY_FILE } from './metrics-writer.ts';
import { readRun } from './run-reader.ts';
import { SESSION_FILE } from './session-file.ts';

/** Files that make a directory a run (stage) directory. */
const RUN_FILES = [METRICS_FILE, CONFIG_FILE, SESSION_FILE];

/**
 * What a directory holds: a `run` (a trainer's run directory: metrics.jsonl, config.json or session.json), a
 * `pipeline` (a recipe's directory: its summary.json names the recipe, or each run directory in it is named after
 * the stage that wrote it, as `runs/ppo/sft`, `runs/ppo/reward`), `runs` (a directory of runs and recipes), or
 * undefined.
 *
 * @example
 * runDirectoryKind('runs/ppo');     // 'pipeline': runs/ppo/sft, runs/ppo/reward, runs/ppo/ppo
 * runDirectoryKind('runs/ppo/ppo'); // 'run'
 * runDirectoryKind('runs');         // 'runs'
 */
export function runDirectoryKind(dir: string, depth = 2): 'run' | 'pipeline' | 'runs' | undefined {
  if (!isDirectory(dir)) return undefined;
  if (RUN_FILES.some((file) => fs.existsSync(path.join(dir, file)))) return 'run';
  const summary = readJsonQuietly(path.join(dir, SUMMARY_FILE)) as RunSummary | undefined;
  const runs = stageDirectories(dir);
  if (typeof summary?.recipe === 'string' || (runs.length > 0 && runs.every((name) => namedAfterItsStage(path.join(dir, name))))) return 'pipeline';
  // A directory of runs may group them in directories of its own (runs/frontier/ppo-kl0.05): look two levels down.
  const entries = depth > 0 ? fs.readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()) : [];
  if (runs.length > 0 || entries.some((entry) => runDirectoryKind(path.join(dir, entry.name), depth - 1) !== undefined)) return 'runs';
  // A run whose process has written nothing but its summary (or a frontier point) is still a run.
  return summary ? 'run' : undefined;
}

/** A recipe writes stage `ppo` into `<recipe>/ppo/`, and the stage's session and summary say `method: 'ppo'`. */
function namedAfterItsStage(runDir: string): boolean {
  const name = path.basename(runDir);
  const session = readJsonQuietly(path.join(runDir, SESSION_FILE)) as { method?: unknown } | undefined;
  const summary = readJsonQuietly(path.join(runDir, SUMMARY_FILE)) as { method?: unknown } | undefined;
  return session?.method === name || summary?.method === name;
}

function readJsonQuietly(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
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
