import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { bestTrial, readSweep, summarizeSweep, writeSweepReport } from '../../observe/index.ts';
import { optunaMissing, skipWithout, temporaryDirectory, writeOptunaStudy } from './fixtures.ts';

// A study written by the real Optuna (Debian's python3-optuna): the format is Optuna's, not our idea of it.
const skip = skipWithout(optunaMissing());

describe.skipIf(skip)('a sweep database written by Optuna', () => {
  let dbPath: string;
  let optunaBest: { bestNumber: number; bestValue: number };

  beforeAll(() => {
    dbPath = path.join(temporaryDirectory('sweep'), 'sweeps.db');
    optunaBest = writeOptunaStudy(dbPath);
  });

  it('reads every trial with its state, decoded parameters, intermediate values and user attributes', () => {
    const sweep = readSweep(dbPath);
    expect(sweep.studyName).toBe('ppo-sweep');
    expect(sweep.direction).toBe('MAXIMIZE');
    const states = new Set(sweep.trials.map((trial) => trial.state));
    expect([...states].sort()).toEqual(['COMPLETE', 'FAIL', 'PRUNED', 'RUNNING', 'WAITING']);
    for (const trial of sweep.trials.filter((candidate) => candidate.state === 'COMPLETE')) {
      expect(trial.intermediate.map((point) => point.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(trial.value).toBe(trial.intermediate.at(-1)?.value);
      expect(['adam', 'adamw', 'sgd']).toContain(trial.params.optimizer);
      // tune's own distribution type: the study is read through tune/storage, Optuna's one reader here.
      expect(trial.distributions.learning_rate).toMatchObject({ kind: 'float', log: true });
      expect(trial.distributions.batch_size).toMatchObject({ kind: 'int', step: 8 });
    }
    for (const trial of sweep.trials.filter((candidate) => candidate.state === 'PRUNED')) {
      expect(trial.userAttributes.release_ms).toBeGreaterThan(0);
      expect(trial.intermediate.length).toBeLessThan(12);
    }
    expect(sweep.trials.find((trial) => trial.state === 'RUNNING')?.intermediate).toEqual([
      { step: 1, value: 0.35 },
      { step: 2, value: 0.41 },
    ]);
  });

  it('agrees with Optuna on the best trial', () => {
    const best = bestTrial(readSweep(dbPath));
    expect(best?.number).toBe(optunaBest.bestNumber);
    expect(best?.value).toBe(optunaBest.bestValue);
  });

  it('summarises the study as text: counts by state, the best trial, a trial table', () => {
    const text = summarizeSweep(dbPath);
    const sweep = readSweep(dbPath);
    const count = (state: string): number => sweep.trials.filter((trial) => trial.state === state).length;
    expect(text).toContain('study ppo-sweep');
    expect(text).toContain(`trials ${sweep.trials.length}: ${count('COMPLETE')} complete, ${count('PRUNED')} pruned, 1 fail, 1 running, 1 waiting`);
    expect(text).toMatch(new RegExp(`best value ${String(optunaBest.bestValue).slice(0, 5)}\\d* \\(trial ${optunaBest.bestNumber}\\)`));
    expect(text).toMatch(/^#\s+state\s+value\s+steps\s+learning_rate\s+kl_coef\s+batch_size\s+optimizer\s+release_ms$/m);
    expect(text.split('\n').filter((line) => /^\d+\s/.test(line))).toHaveLength(sweep.trials.length);
  });

  it('draws a report with intermediate curves (pruned trials marked), history, parallel coordinates and the table', () => {
    const out = path.join(path.dirname(dbPath), 'sweep.html');
    const result = writeSweepReport(dbPath, { out });
    expect(result.charts).toEqual(['intermediate-values', 'objective-history', 'parameters']);
    const html = fs.readFileSync(out, 'utf8');
    const sweep = readSweep(dbPath);
    const pruned = sweep.trials.filter((trial) => trial.state === 'PRUNED').length;
    expect(html.match(/class="end-marker"/g)).toHaveLength(pruned);
    const reported = sweep.trials.reduce((sum, trial) => sum + trial.intermediate.length, 0);
    expect(html).toMatch(new RegExp(`data-chart="intermediate-values" data-kind="xy" data-points="${reported}"`));
    const complete = sweep.trials.filter((trial) => trial.state === 'COMPLETE').length;
    expect(html).toMatch(new RegExp(`data-chart="parameters" data-kind="parallel-coordinates" data-points="${complete}"`));
    expect(html.match(/<tr( class="best")?><td class="text">\d+<\/td>/g)).toHaveLength(sweep.trials.length);
    expect(html).toContain('<tr class="best">');
  });

  it('names the studies when the one asked for is not there', () => {
    expect(() => readSweep(dbPath, { studyName: 'nope' })).toThrow(/no study "nope" in .*\(studies: ppo-sweep\)/);
  });
});

describe('sweep database errors', () => {
  it('rejects a SQLite file that is not an Optuna study, and a missing file', () => {
    const dbPath = path.join(temporaryDirectory('not-optuna'), 'other.db');
    const db = new Database(dbPath);
    db.exec('CREATE TABLE things (id INTEGER)');
    db.close();
    expect(() => readSweep(dbPath)).toThrow(expect.objectContaining({ code: 'SWEEP_INVALID' }));
    expect(() => readSweep(`${dbPath}.missing`)).toThrow(expect.objectContaining({ code: 'SWEEP_NOT_FOUND' }));
  });
});
