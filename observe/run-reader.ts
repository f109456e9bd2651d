import fs from 'node:fs';
import path from 'node:path';
import { PosttrainError } from '../runtime/errors.ts';
import type { MetricsRecord, RunData, RunSummary, SessionInfo } from './formats.ts';
import { CONFIG_FILE, METRICS_FILE, SUMMARY_FILE } from './metrics-writer.ts';
import { SESSION_FILE } from './session-file.ts';

/**
 * Read a run directory: `config.json`, `metrics.jsonl` and `summary.json`, each optional (a run that just started
 * has no metrics, a running one no summary). A half-written last line (the writer died mid-line) is ignored; any
 * other malformed line is an error naming the file and line.
 *
 * @example
 * const run = readRun('runs/ppo-1');
 * run.metrics.at(-1)?.goldReward;
 */
export function readRun(dir: string): RunData {
  const runDir = path.resolve(dir);
  if (!fs.existsSync(runDir) || !fs.statSync(runDir).isDirectory()) {
    throw new PosttrainError('RUN_NOT_FOUND', `no run directory at ${runDir}`, { path: runDir });
  }
  const session = readJson(path.join(runDir, SESSION_FILE)) as SessionInfo | undefined;
  return {
    dir: runDir,
    name: path.basename(runDir),
    config: readJson(path.join(runDir, CONFIG_FILE)) as Record<string, unknown> | undefined,
    metrics: readMetrics(path.join(runDir, METRICS_FILE)),
    summary: readJson(path.join(runDir, SUMMARY_FILE)) as RunSummary | undefined,
    ...(session ? { session } : {}),
  };
}

/**
 * Parse `metrics.jsonl`; an absent file is an empty list.
 *
 * @example
 * readMetrics('runs/ppo-1/metrics.jsonl').map((record) => record.kl);
 */
export function readMetrics(filePath: string): MetricsRecord[] {
  if (!fs.existsSync(filePath)) return [];
  const text = fs.readFileSync(filePath, 'utf8');
  const lines = text.split('\n');
  const records: MetricsRecord[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const isUnfinishedLast = index === lines.length - 1 && !text.endsWith('\n');
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      if (isUnfinishedLast) return;
      throw new PosttrainError('METRICS_INVALID', `${filePath} line ${index + 1}: not JSON (${(error as Error).message})`, {
        path: filePath,
      });
    }
    const step = (record as { step?: unknown } | null)?.step;
    if (typeof record !== 'object' || record === null || typeof step !== 'number' || !Number.isFinite(step)) {
      throw new PosttrainError('METRICS_INVALID', `${filePath} line ${index + 1}: expected an object with a numeric "step"`, {
        path: filePath,
      });
    }
    records.push(record as MetricsRecord);
  });
  return records;
}

function readJson(filePath: string): unknown {
  if (!fs.existsSync(filePath)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(filePath, 'utf8'));
  } catch (error) {
    throw new PosttrainError('RUN_FILE_INVALID', `${filePath}: not JSON (${(error as Error).message})`, { path: filePath });
  }
}
