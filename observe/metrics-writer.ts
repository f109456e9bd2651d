import fs from 'node:fs';
import path from 'node:path';
import { PosttrainError } from '../runtime/errors.ts';
import type { MetricsRecord, RunSummary } from './formats.ts';
import { TensorBoardWriter } from './tensorboard/event-writer.ts';
import type { TrainingMetrics } from './training-metrics.ts';

export const METRICS_FILE = 'metrics.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const CONFIG_FILE = 'config.json';

/** Options for `MetricsWriter.open`. */
export interface MetricsWriterOptions {
  /**
   * Continue a run from a checkpoint at this step: lines past it (of `stage`, when given) and everything after them
   * are dropped from `metrics.jsonl`, `summary.json` is removed, and TensorBoard is told to drop its orphaned points,
   * so the metrics of a resumed run equal those of an uninterrupted one.
   */
  resumeFromStep?: number;
  /** With `resumeFromStep`: the stage being resumed, when one file holds several stages. */
  stage?: string;
  /** Start afresh even if the directory already holds metrics (they are deleted). */
  overwrite?: boolean;
  /** Also write TensorBoard event files into the run directory (default true). */
  tensorboard?: boolean;
  /** Also update these Prometheus gauges with every record. */
  trainingMetrics?: TrainingMetrics;
  /** Wall clock in seconds (tests pin it). */
  now?: () => number;
}

/**
 * Writes a run directory's `metrics.jsonl` (one line per step, written with one `write` call each so that nothing
 * sits in a buffer when the process dies), `summary.json`, `config.json` and TensorBoard event files.
 *
 * @example
 * const writer = MetricsWriter.open('runs/ppo-1');
 * writer.writeConfig(config);
 * writer.append({ step: 1, goldReward: 0.41, kl: 0.002, phaseSeconds: { generate: 1.2, train: 0.8 } });
 * writer.writeSummary({ finalGoldReward: 0.62, steps: 1 });
 * writer.close();
 */
export class MetricsWriter {
  readonly dir: string;
  private readonly fd: number;
  private readonly tensorboard: TensorBoardWriter | undefined;
  private readonly trainingMetrics: TrainingMetrics | undefined;
  private readonly now: () => number;
  private closed = false;

  private constructor(dir: string, fd: number, options: MetricsWriterOptions) {
    this.dir = dir;
    this.fd = fd;
    this.now = options.now ?? (() => Date.now() / 1000);
    this.trainingMetrics = options.trainingMetrics;
    this.tensorboard =
      options.tensorboard === false
        ? undefined
        : TensorBoardWriter.open(dir, { resumedFromStep: options.resumeFromStep, now: this.now });
  }

  static open(dir: string, options: MetricsWriterOptions = {}): MetricsWriter {
    const runDir = path.resolve(dir);
    fs.mkdirSync(runDir, { recursive: true });
    const metricsPath = path.join(runDir, METRICS_FILE);
    if (options.resumeFromStep !== undefined) {
      truncateAfterStep(metricsPath, options.resumeFromStep, options.stage);
      fs.rmSync(path.join(runDir, SUMMARY_FILE), { force: true });
    } else if (options.overwrite) {
      for (const name of fs.readdirSync(runDir)) {
        if (name === METRICS_FILE || name === SUMMARY_FILE || name.startsWith('events.out.tfevents.')) {
          fs.rmSync(path.join(runDir, name));
        }
      }
    } else if (fs.existsSync(metricsPath) && fs.statSync(metricsPath).size > 0) {
      throw new PosttrainError(
        'RUN_EXISTS',
        `${metricsPath} already holds metrics: resume the run (resumeFromStep) or choose another run name`,
        { path: runDir },
      );
    }
    return new MetricsWriter(runDir, fs.openSync(metricsPath, 'a'), options);
  }

  /** Write the resolved config as `config.json`. */
  writeConfig(config: unknown): void {
    writeJsonAtomically(path.join(this.dir, CONFIG_FILE), config);
  }

  /** Append one step's record; `wallTime` is stamped when missing. */
  append(record: MetricsRecord): void {
    if (this.closed) throw new PosttrainError('WRITER_CLOSED', `metrics writer for ${this.dir} is closed`);
    if (!Number.isInteger(record.step) || record.step < 0) {
      throw new PosttrainError('METRICS_INVALID', `step must be a non-negative integer, got ${String(record.step)}`, {
        path: 'step',
      });
    }
    const stamped: MetricsRecord = { ...record, wallTime: record.wallTime ?? this.now() };
    fs.writeSync(this.fd, `${JSON.stringify(stamped)}\n`);
    this.tensorboard?.addScalars(record.step, scalarsOf(stamped), stamped.wallTime);
    this.trainingMetrics?.observe(stamped);
  }

  /** Write `summary.json` (atomically: a reader never sees half a summary). */
  writeSummary(summary: RunSummary): void {
    writeJsonAtomically(path.join(this.dir, SUMMARY_FILE), summary);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
    this.tensorboard?.close();
  }
}

/**
 * The numeric fields of a record as TensorBoard tags: nested objects become `parent/child`
 * (`phaseSeconds/generate`), a stage prefixes every tag (`ppo/kl`), and bookkeeping fields are left out.
 *
 * @example
 * scalarsOf({ step: 3, stage: 'ppo', kl: 0.01, phaseSeconds: { train: 0.8 } }); // { 'ppo/kl': 0.01, 'ppo/phaseSeconds/train': 0.8 }
 */
export function scalarsOf(record: MetricsRecord): Record<string, number> {
  const scalars: Record<string, number> = {};
  const prefix = record.stage ? `${record.stage}/` : '';
  const visit = (value: unknown, tag: string): void => {
    if (typeof value === 'number') scalars[prefix + tag] = value;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(value)) visit(child, `${tag}/${key}`);
    }
  };
  for (const [key, value] of Object.entries(record)) {
    if (key === 'step' || key === 'wallTime' || key === 'checkpoint') continue;
    visit(value, key);
  }
  return scalars;
}

/** Keep the lines up to the resumed step: drop from the first line (of `stage`) whose step is past it. */
function truncateAfterStep(metricsPath: string, resumeFromStep: number, stage: string | undefined): void {
  if (!fs.existsSync(metricsPath)) return;
  const kept: string[] = [];
  for (const line of fs.readFileSync(metricsPath, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let record: MetricsRecord;
    try {
      record = JSON.parse(line) as MetricsRecord;
    } catch {
      break; // a half-written last line from the crash that made us resume
    }
    if ((stage === undefined || record.stage === stage) && record.step > resumeFromStep) break;
    kept.push(line);
  }
  const temporary = `${metricsPath}.tmp`;
  fs.writeFileSync(temporary, kept.map((line) => `${line}\n`).join(''));
  fs.renameSync(temporary, metricsPath);
}

function writeJsonAtomically(filePath: string, value: unknown): void {
  const temporary = `${filePath}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(temporary, filePath);
}
