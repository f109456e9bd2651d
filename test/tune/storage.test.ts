import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.ts';
import { createStudy, loadStudy, parseStorageUrl, RandomSampler, SqliteStorage, StudyStorageError } from '../../tune/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'posttrain-storage-'));
});

describe('storage URLs', () => {
  it('read sqlite:/// as relative and sqlite://// as absolute, like SQLAlchemy', () => {
    expect(parseStorageUrl('sqlite:///runs/sweeps.db', '/work').filename).toBe('/work/runs/sweeps.db');
    expect(parseStorageUrl('sqlite:////tmp/a.db', '/work').filename).toBe('/tmp/a.db');
    expect(parseStorageUrl('sqlite:///:memory:').filename).toBe(':memory:');
    expect(() => parseStorageUrl('mysql://host/db')).toThrow(/only SQLite storage URLs are supported/);
    expect(() => parseStorageUrl('sqlite://host/db')).toThrow(ConfigError);
  });

  it('refuse a database that is not an Optuna study database, naming what is missing', () => {
    const storage = SqliteStorage.open(join(directory, 'other.db'));
    storage.db.exec('CREATE TABLE IF NOT EXISTS unrelated (x INTEGER)');
    storage.db.exec('DROP TABLE trial_heartbeats');
    storage.close();
    expect(() => SqliteStorage.open(join(directory, 'other.db'))).toThrow(/missing tables: trial_heartbeats/);
    const stale = SqliteStorage.open(join(directory, 'old.db'));
    stale.db.prepare('UPDATE alembic_version SET version_num = ?').run('v2.6.0.a');
    stale.close();
    expect(() => SqliteStorage.open(join(directory, 'old.db'))).toThrow(StudyStorageError);
  });
});

describe('SqliteStorage round trips', () => {
  it('a study reopened from disk has the same trials, numbers per study and attributes', async () => {
    const url = `sqlite:///${join(directory, 'round.db')}`;
    const storage = SqliteStorage.open(url);
    const first = createStudy({ storage, studyName: 'first', direction: 'maximize', sampler: new RandomSampler({ seed: 1 }) });
    const second = createStudy({ storage, studyName: 'second', sampler: new RandomSampler({ seed: 2 }) });
    for (let i = 0; i < 3; i++) {
      for (const study of [first, second]) {
        const trial = study.ask();
        const x = trial.suggestFloat('x', -2, 2);
        trial.setUserAttr('i', i);
        trial.report(x, 0);
        study.tell(trial, x);
      }
    }
    const before = { first: first.trials, second: second.trials };
    storage.close();
    const reopened = SqliteStorage.open(url);
    const again = loadStudy({ storage: reopened, studyName: 'first' });
    expect(again.direction).toBe('MAXIMIZE');
    expect(again.trials).toEqual(before.first);
    expect(loadStudy({ storage: reopened, studyName: 'second' }).trials.map((trial) => trial.number)).toEqual([0, 1, 2]);
    expect(again.trials.map((trial) => trial.datetimeComplete instanceof Date)).toEqual([true, true, true]);
    reopened.close();
  });

  it('writes finished trials only once: later writes fail with the trial named', () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    const trial = study.ask();
    study.tell(trial, 1);
    expect(() => trial.report(2, 0)).toThrow(/cannot report step 0: trial 0 is already COMPLETE/);
    expect(() => study.tell(trial, 2)).toThrow(/trial 0 is already COMPLETE/);
  });

  it('several processes writing one study lose no trial and no report', async () => {
    const url = `sqlite:///${join(directory, 'shared.db')}`;
    createStudy({ storage: url, studyName: 'shared' });
    const workers = 4;
    const perWorker = 15;
    const outputs = await Promise.all(
      Array.from({ length: workers }, (_, index) =>
        new Promise<number[]>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'report-worker.ts'), url, 'shared', String(perWorker), `w${index}`], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (chunk) => (stdout += chunk));
          child.stderr.on('data', (chunk) => (stderr += chunk));
          child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout) as number[]) : reject(new Error(`worker ${index} exited ${code}: ${stderr}`))));
        }),
      ),
    );
    const study = loadStudy({ storage: url, studyName: 'shared' });
    const trials = study.trials;
    expect(trials).toHaveLength(workers * perWorker);
    expect(trials.map((trial) => trial.number)).toEqual(Array.from({ length: workers * perWorker }, (_, i) => i));
    expect(outputs.flat().sort((a, b) => a - b)).toEqual(trials.map((trial) => trial.number));
    for (const trial of trials) {
      expect(trial.state).toBe('COMPLETE');
      expect([...trial.intermediateValues.keys()]).toEqual(Array.from({ length: 20 }, (_, step) => step));
      expect(Object.keys(trial.params).sort()).toEqual(['batch', 'lr', 'optimizer']);
    }
  }, 120_000);
});
