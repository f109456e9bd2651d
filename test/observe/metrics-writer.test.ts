import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../models/rng.ts';
import { MetricsWriter, readMetrics, readRun } from '../../observe/index.ts';
import type { MetricsRecord } from '../../observe/index.ts';
import { simulatedPpoRecord, temporaryDirectory } from './fixtures.ts';

/** Log steps 1..steps of a deterministic run into `dir` with a pinned clock. */
function logSteps(writer: MetricsWriter, from: number, to: number): void {
  const rng = new Rng(11);
  for (let step = 1; step <= to; step++) {
    const record = simulatedPpoRecord(step, rng);
    if (step >= from) writer.append({ ...record, wallTime: 1_700_000_000 + step });
  }
}

describe('MetricsWriter', () => {
  it('writes one JSON line per step that is on disk before the next call returns', () => {
    const dir = temporaryDirectory('writer-lines');
    const writer = MetricsWriter.open(dir, { tensorboard: false, now: () => 42 });
    writer.append({ step: 1, goldReward: 0.5 });
    // No close yet: nothing may sit in a buffer.
    expect(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).toBe('{"step":1,"goldReward":0.5,"wallTime":42}\n');
    writer.writeConfig({ algo: { clipRange: 0.2 } });
    writer.writeSummary({ finalGoldReward: 0.5, steps: 1 });
    writer.close();
    const run = readRun(dir);
    expect(run.config).toEqual({ algo: { clipRange: 0.2 } });
    expect(run.summary).toEqual({ finalGoldReward: 0.5, steps: 1 });
    expect(run.metrics).toEqual([{ step: 1, goldReward: 0.5, wallTime: 42 }]);
  });

  it('resumed == uninterrupted: lines past the resumed step and a half-written line are dropped', () => {
    const uninterrupted = temporaryDirectory('writer-whole');
    const whole = MetricsWriter.open(uninterrupted);
    logSteps(whole, 1, 30);
    whole.close();

    const crashed = temporaryDirectory('writer-crashed');
    const before = MetricsWriter.open(crashed);
    logSteps(before, 1, 24); // the last checkpoint was at step 20
    before.writeSummary({ steps: 24 }); // a stale summary must not survive the resume
    before.close();
    fs.appendFileSync(path.join(crashed, 'metrics.jsonl'), '{"step":25,"goldRew'); // died mid-line

    const after = MetricsWriter.open(crashed, { resumeFromStep: 20 });
    logSteps(after, 21, 30);
    after.close();

    expect(fs.readFileSync(path.join(crashed, 'metrics.jsonl'), 'utf8')).toBe(
      fs.readFileSync(path.join(uninterrupted, 'metrics.jsonl'), 'utf8'),
    );
    expect(fs.existsSync(path.join(crashed, 'summary.json'))).toBe(false);
  });

  it('resumes one stage without touching the stages before it', () => {
    const dir = temporaryDirectory('writer-stages');
    const writer = MetricsWriter.open(dir, { tensorboard: false });
    for (let step = 1; step <= 40; step++) writer.append({ step, stage: 'sft', loss: 1 / step });
    for (let step = 1; step <= 10; step++) writer.append({ step, stage: 'ppo', kl: step });
    writer.close();
    MetricsWriter.open(dir, { resumeFromStep: 5, stage: 'ppo', tensorboard: false }).close();
    const records = readMetrics(path.join(dir, 'metrics.jsonl'));
    expect(records.filter((record) => record.stage === 'sft')).toHaveLength(40);
    expect(records.filter((record) => record.stage === 'ppo').map((record) => record.step)).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses to append to an existing run unless told to resume or overwrite', () => {
    const dir = temporaryDirectory('writer-exists');
    const writer = MetricsWriter.open(dir);
    writer.append({ step: 1 });
    writer.close();
    expect(() => MetricsWriter.open(dir)).toThrow(expect.objectContaining({ code: 'RUN_EXISTS' }));
    const fresh = MetricsWriter.open(dir, { overwrite: true });
    fresh.close();
    expect(readRun(dir).metrics).toEqual([]);
    expect(fs.readdirSync(dir).filter((name) => name.startsWith('events.out.tfevents.'))).toHaveLength(1);
  });

  it('rejects a record without a valid step, naming the field', () => {
    const writer = MetricsWriter.open(temporaryDirectory('writer-step'), { tensorboard: false });
    expect(() => writer.append({ step: 1.5 } as MetricsRecord)).toThrow(
      expect.objectContaining({ code: 'METRICS_INVALID', path: 'step' }),
    );
    writer.close();
  });
});

describe('readRun', () => {
  it('names the file and line of a malformed metrics line', () => {
    const dir = temporaryDirectory('reader-bad');
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"step":1}\nnot json\n{"step":3}\n');
    expect(() => readRun(dir)).toThrow(/metrics\.jsonl line 2: not JSON/);
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"step":1}\n{"loss":2}\n');
    expect(() => readRun(dir)).toThrow(/line 2: expected an object with a numeric "step"/);
  });

  it('says so when the run directory does not exist', () => {
    expect(() => readRun('/nonexistent/run')).toThrow(expect.objectContaining({ code: 'RUN_NOT_FOUND' }));
  });
});
