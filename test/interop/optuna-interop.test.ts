import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { createStudy, distributionToJson, type FrozenTrial, loadStudy, RandomSampler, SqliteStorage, type Study, TpeSampler } from '../../tune/index.ts';
import { describeWithOptuna, optuna } from './optuna.ts';

/** Optuna's dump encodes NaN / infinities as strings; map ours the same way for comparison. */
const encode = (value: number | undefined | null): number | string | null | undefined =>
  value === undefined || value === null ? value : Number.isNaN(value) ? 'nan' : value === Infinity ? 'inf' : value === -Infinity ? '-inf' : value;

function asOptunaSees(trial: FrozenTrial): object {
  return {
    number: trial.number,
    state: trial.state,
    values: trial.values === undefined ? null : trial.values.map(encode),
    params: trial.params,
    distributions: Object.fromEntries(Object.entries(trial.distributions).map(([name, d]) => [name, distributionToJson(d)])),
    intermediate_values: [...trial.intermediateValues].map(([step, value]) => [step, encode(value)]),
    user_attrs: trial.userAttrs,
    system_attrs: trial.systemAttrs,
    has_start: trial.datetimeStart !== undefined,
    has_complete: trial.datetimeComplete !== undefined,
  };
}

/** A study with every kind of thing Optuna stores: all distribution kinds, odd values, every state. */
async function writeRichStudy(study: Study): Promise<void> {
  study.setUserAttr('recipe', { path: 'recipes/ppo.ts', overrides: ['algo.lr'] });
  await study.optimize(
    (trial) => {
      const lr = trial.suggestFloat('lr', 1e-5, 1e-1, { log: true });
      const layers = trial.suggestInt('layers', 1, 8);
      const batch = trial.suggestInt('batch', 16, 128, { step: 16 });
      const width = trial.suggestInt('width', 8, 512, { log: true });
      const optimizer = trial.suggestCategorical('optimizer', ['adam', 'sgd', null, 3, 2.5, true]);
      const clip = trial.suggestFloat('clip', 0.1, 0.3, { step: 0.05 });
      trial.setUserAttr('written_by', 'posttrain');
      trial.setUserAttr('nested', { curve: [1, 2.5, -3], text: 'é ✓' });
      const value = Math.log10(lr) ** 2 + layers * 0.1 + batch / 1000 + clip + width / 1e4 + (optimizer === 'sgd' ? 1 : 0);
      trial.report(NaN, 0);
      trial.report(Infinity, 1);
      trial.report(-Infinity, 2);
      trial.report(value + 0.25, 3);
      return value;
    },
    { nTrials: 8 },
  );
  const pruned = study.ask();
  pruned.suggestFloat('lr', 1e-5, 1e-1, { log: true });
  pruned.report(0.75, 0);
  pruned.report(0.5, 5);
  study.tell(pruned, 'PRUNED');
  const failed = study.ask();
  failed.suggestInt('layers', 1, 8);
  study.tell(failed, NaN); // a NaN objective fails the trial, as in Optuna
  study.tell(study.ask(), 'FAIL');
  study.ask().suggestCategorical('optimizer', ['adam', 'sgd', null, 3, 2.5, true]); // left RUNNING
  study.enqueueTrial({ lr: 0.001, layers: 3 }, { userAttrs: { memo: 'try this' } });
}

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'posttrain-interop-'));
});

describeWithOptuna('a study written by posttrain opens in Optuna', () => {
  for (const revision of ['v3.2.0.a', 'v3.0.0.d'] as const) {
    it(`keeps every trial's state, params, distributions, values, intermediate values and attributes (${revision})`, async () => {
      const url = `sqlite:///${join(directory, 'posttrain.db')}`;
      const study = createStudy({ storage: SqliteStorage.open(url, { schemaRevision: revision }), studyName: 'rich', direction: 'minimize', sampler: new TpeSampler({ seed: 3 }) });
      await writeRichStudy(study);
      const seen = optuna('dump', url, 'rich', ...(revision === 'v3.2.0.a' ? ['--v320'] : []));
      expect(seen.revision).toBe(revision);
      expect(seen.directions).toEqual(['MINIMIZE']);
      expect(seen.user_attrs).toEqual({ recipe: { path: 'recipes/ppo.ts', overrides: ['algo.lr'] } });
      expect(seen.trials.map((trial: { state: string }) => trial.state)).toEqual([
        ...new Array(8).fill('COMPLETE'),
        'PRUNED',
        'FAIL',
        'FAIL',
        'RUNNING',
        'WAITING',
      ]);
      expect(seen.trials).toEqual(study.trials.map(asOptunaSees));
      expect(seen.trials[8].values).toEqual([0.5]); // a pruned trial's value is its last intermediate value
      expect(seen.trials[12].system_attrs).toEqual({ fixed_params: { lr: 0.001, layers: 3 } });
      expect(seen.best).toBe(study.bestTrial.number);
    });
  }

  it('creates exactly the tables and indexes Optuna creates', () => {
    const optunaUrl = `sqlite:///${join(directory, 'optuna.db')}`;
    optuna('run', optunaUrl, 'empty', '0', '--create');
    const optunaRows = optuna('schema', optunaUrl).rows.map(([type, name, table, sql]: string[]) => [type, name, table, sql]);
    for (const revision of ['v3.0.0.d', 'v3.2.0.a'] as const) {
      const url = `sqlite:///${join(directory, `${revision}.db`)}`;
      SqliteStorage.open(url, { schemaRevision: revision }).close();
      const ours = optuna('schema', url).rows;
      const expected = [...optunaRows];
      if (revision === 'v3.2.0.a') {
        // Optuna >= 3.2's models declare trials.study_id with index=True; create_all emits this right after the table.
        const trialsIndex = expected.findIndex(([, name]: string[]) => name === 'trials');
        expected.splice(trialsIndex + 1, 0, ['index', 'ix_trials_study_id', 'trials', 'CREATE INDEX ix_trials_study_id ON trials (study_id)']);
      }
      expect(ours).toEqual(expected);
    }
  });
});

describeWithOptuna('a study started by Optuna is continued by posttrain', () => {
  async function continueWithPosttrain(url: string): Promise<Study> {
    const study = loadStudy({ storage: url, studyName: 'from-optuna', sampler: new TpeSampler({ seed: 7, nStartupTrials: 5 }) });
    await study.optimize(
      (trial) => {
        const lr = trial.suggestFloat('lr', 1e-5, 1e-1, { log: true });
        const layers = trial.suggestInt('layers', 1, 8);
        const batch = trial.suggestInt('batch', 16, 128, { step: 16 });
        const optimizer = trial.suggestCategorical('optimizer', ['adam', 'sgd', null, 3]);
        const dropout = trial.suggestFloat('dropout', 0, 0.5, { step: 0.1 });
        trial.setUserAttr('written_by', 'posttrain');
        const value = Math.log10(lr) ** 2 + layers * 0.1 + batch / 1000 + dropout + (optimizer === 'sgd' ? 0.5 : 0);
        for (let step = 0; step < 4; step++) trial.report(value + (3 - step) * 0.1, step);
        return value;
      },
      { nTrials: 6 },
    );
    return study;
  }

  it('continues an Optuna 3.1 database (alembic v3.0.0.d) without restamping it, and Optuna sees every trial', async () => {
    const url = `sqlite:///${join(directory, 'optuna31.db')}`;
    const before = optuna('run', url, 'from-optuna', '9', '--create');
    expect(before.revision).toBe('v3.0.0.d');
    expect(before.trials).toHaveLength(10); // 9 run + 1 enqueued (WAITING)

    const study = await continueWithPosttrain(url);
    expect(study.storage.revision).toBe('v3.0.0.d');
    const ours = study.trials;
    // The enqueued trial ran first, with Optuna's fixed parameters.
    expect(ours[9]!.state).toBe('COMPLETE');
    expect(ours[9]!.params).toMatchObject({ lr: 0.001, layers: 2, optimizer: 'adam' });
    expect(ours[9]!.userAttrs).toMatchObject({ memo: 'enqueued by optuna', written_by: 'posttrain' });

    const after = optuna('run', url, 'from-optuna', '2');
    expect(after.revision).toBe('v3.0.0.d');
    expect(after.trials).toHaveLength(18); // 9 + 1 + 5 new by posttrain + 2 more by Optuna + 1 enqueued
    expect(after.trials.slice(0, 15)).toEqual(study.trials.slice(0, 15).map(asOptunaSees));
    expect(optuna('schema', url).rows.some(([, name]: string[]) => name.includes('trials_study_id'))).toBe(false);
  });

  it('continues a database upgraded to v3.2.0.a by `optuna storage upgrade`, keeping its stamp', async () => {
    const url = `sqlite:///${join(directory, 'upgraded.db')}`;
    optuna('run', url, 'from-optuna', '9', '--create');
    expect(optuna('upgrade', url).revision).toBe('v3.2.0.a');
    const study = await continueWithPosttrain(url);
    expect(study.storage.revision).toBe('v3.2.0.a');
    const seen = optuna('dump', url, 'from-optuna', '--v320');
    expect(seen.revision).toBe('v3.2.0.a');
    expect(seen.trials).toEqual(study.trials.map(asOptunaSees));
    expect(seen.best).toBe(study.bestTrial.number);
  });

  it('Optuna reads a posttrain study while posttrain still has it open (WAL)', async () => {
    const url = `sqlite:///${join(directory, 'live.db')}`;
    const study = createStudy({ storage: url, studyName: 'live', sampler: new RandomSampler({ seed: 1 }) });
    await study.optimize((trial) => trial.suggestFloat('x', -1, 1) ** 2, { nTrials: 5 });
    const running = study.ask();
    running.report(0.3, 0);
    const seen = optuna('dump', url, 'live', '--v320');
    expect(seen.trials).toHaveLength(6);
    expect(seen.trials[5].state).toBe('RUNNING');
    expect(seen.trials[5].intermediate_values).toEqual([[0, 0.3]]);
  });
});
