import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.ts';
import {
  createStudy,
  DuplicatedStudyError,
  failStaleTrials,
  floatDistribution,
  loadStudy,
  RandomSampler,
  SqliteStorage,
  StudyNotFoundError,
  TrialPruned,
} from '../../tune/index.ts';

describe('Study ask/tell', () => {
  it('tells values, NaN fails the trial, PRUNED keeps the last intermediate value', () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    const completed = study.ask();
    expect(study.tell(completed, 0.25).state).toBe('COMPLETE');
    expect(study.tell(study.ask(), NaN).state).toBe('FAIL');
    const pruned = study.ask();
    pruned.report(3, 0);
    pruned.report(2, 7);
    pruned.report(9, 4);
    const told = study.tell(pruned, 'PRUNED');
    expect([told.state, told.value]).toEqual(['PRUNED', 2]);
    expect(() => study.tell(study.ask(), 'PRUNED', undefined)).not.toThrow();
    expect(() => study.tell(study.ask(), 'COMPLETE')).toThrow(/needs its value/);
    expect(study.bestTrial.number).toBe(0);
  });

  it('fixed distributions are suggested at ask time; a name keeps its kind across trials', () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    const trial = study.ask({ lr: floatDistribution(1e-4, 1e-2, { log: true }) });
    expect(Object.keys(trial.params)).toEqual(['lr']);
    expect(trial.suggestFloat('lr', 1e-4, 1e-2, { log: true })).toBe(trial.params.lr);
    study.tell(trial, 1);
    expect(() => study.ask().suggestInt('lr', 1, 3)).toThrow(/parameter 'lr' was float and cannot become int/);
  });

  it('enqueued trials are WAITING with fixed_params, taken first, and their values are used', () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 0 }) });
    study.enqueueTrial({ x: 0.5, kind: 'b' }, { userAttrs: { memo: 'mine' } });
    study.enqueueTrial({ x: 0.5, kind: 'b' }, { skipIfExists: true });
    const waiting = study.trials;
    expect(waiting.map((trial) => [trial.state, trial.systemAttrs])).toEqual([['WAITING', { fixed_params: { x: 0.5, kind: 'b' } }]]);
    const trial = study.ask();
    expect(trial.number).toBe(0);
    expect(trial.suggestFloat('x', 0, 1)).toBe(0.5);
    expect(trial.suggestCategorical('kind', ['a', 'b'])).toBe('b');
    expect(trial.userAttrs).toEqual({ memo: 'mine' });
  });

  it('names and directions: duplicates are refused, loadIfExists continues, unknown names list the studies', () => {
    const storage = SqliteStorage.open(':memory:');
    createStudy({ storage, studyName: 'a', direction: 'maximize' });
    expect(() => createStudy({ storage, studyName: 'a' })).toThrow(DuplicatedStudyError);
    expect(createStudy({ storage, studyName: 'a', direction: 'maximize', loadIfExists: true }).direction).toBe('MAXIMIZE');
    expect(() => loadStudy({ storage, studyName: 'b' })).toThrow(StudyNotFoundError);
    expect(() => loadStudy({ storage, studyName: 'b' })).toThrow(/studies: a/);
    expect(() => createStudy({ storage, direction: 'up' as never })).toThrow(ConfigError);
  });

  it('optimize runs concurrent async objectives and records pruned and failed trials', async () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 4 }) });
    let inFlight = 0;
    let maxInFlight = 0;
    await study.optimize(
      async (trial) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        if (trial.number === 2) throw new TrialPruned();
        if (trial.number === 3) throw new Error('boom');
        return trial.suggestFloat('x', 0, 1);
      },
      { nTrials: 8, concurrency: 3, catch: () => true },
    );
    expect(maxInFlight).toBe(3);
    expect(study.trials.map((trial) => trial.state)).toEqual(['COMPLETE', 'COMPLETE', 'PRUNED', 'FAIL', 'COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE']);
    await expect(study.optimize(() => { throw new Error('not caught'); }, { nTrials: 1 })).rejects.toThrow('not caught');
  });
});

describe('heartbeats', () => {
  it('a RUNNING trial whose heartbeat is older than the grace period is failed; one without heartbeat is left alone', () => {
    const storage = SqliteStorage.open(':memory:');
    const study = createStudy({ storage, sampler: new RandomSampler({ seed: 0 }) });
    const stale = study.ask();
    const fresh = study.ask();
    const silent = study.ask();
    storage.recordHeartbeat(stale.trialId);
    storage.recordHeartbeat(fresh.trialId);
    storage.db.prepare("UPDATE trial_heartbeats SET heartbeat = datetime('now', '-30 seconds') WHERE trial_id = ?").run(stale.trialId);
    const failed = failStaleTrials(storage, study.studyId, { intervalSeconds: 5 });
    expect(failed.map((trial) => trial.number)).toEqual([stale.number]);
    expect(study.trials.map((trial) => trial.state)).toEqual(['FAIL', 'RUNNING', 'RUNNING']);
    expect(silent.number).toBe(2);
    expect(storage.db.prepare('SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?').pluck().get(fresh.trialId)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('optimize with heartbeats fails stale trials before asking, as Optuna does', async () => {
    const storage = SqliteStorage.open(':memory:');
    const study = createStudy({ storage, sampler: new RandomSampler({ seed: 0 }), heartbeat: { intervalSeconds: 1, gracePeriodSeconds: 2 } });
    const orphan = study.ask();
    storage.recordHeartbeat(orphan.trialId);
    storage.db.prepare("UPDATE trial_heartbeats SET heartbeat = datetime('now', '-60 seconds')").run();
    await study.optimize((trial) => trial.suggestFloat('x', 0, 1), { nTrials: 2 });
    expect(study.trials.map((trial) => trial.state)).toEqual(['FAIL', 'COMPLETE', 'COMPLETE']);
    expect(storage.db.prepare('SELECT count(*) FROM trial_heartbeats').pluck().get()).toBe(3);
  });
});
