import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_SWEEP_STORAGE,
  GridSampler,
  HyperbandPruner,
  loadSweepConfig,
  MedianPruner,
  overlayParams,
  parseSweepConfig,
  prunerFromConfig,
  samplerFromConfig,
  TpeSampler,
} from '../../tune/index.ts';
import { configIssueLines } from '../expect-error.ts';

const here = dirname(fileURLToPath(import.meta.url));

const minimal = {
  name: 'ppo-lr',
  baseRecipe: 'recipes/ppo.ts',
  space: { 'algo.learningRate': { type: 'float', low: 1e-6, high: 1e-4, log: true } },
  metric: 'reward/mean',
  direction: 'maximize',
  nTrials: 16,
};

const issues = (input: unknown): string[] => configIssueLines(() => parseSweepConfig(input));

describe('sweep file schema', () => {
  it("fills Optuna's defaults: TPE, median pruner, sqlite:///runs/sweeps.db", () => {
    const config = parseSweepConfig(minimal);
    expect(config.sampler).toEqual({ type: 'tpe', nStartupTrials: 10, nEiCandidates: 24 });
    expect(config.pruner).toEqual({ type: 'median', nStartupTrials: 5, nWarmupSteps: 0, intervalSteps: 1 });
    expect([config.storage, config.concurrency, config.reportInterval]).toEqual([DEFAULT_SWEEP_STORAGE, 1, 10]);
    expect(parseSweepConfig(minimal, { storage: 'sqlite:////tmp/x.db' }).storage).toBe('sqlite:////tmp/x.db');
    expect(samplerFromConfig(config.sampler, config.space)).toBeInstanceOf(TpeSampler);
    expect(prunerFromConfig(config.pruner)).toBeInstanceOf(MedianPruner);
    expect(prunerFromConfig(parseSweepConfig({ ...minimal, pruner: { type: 'hyperband' } }).pruner)).toBeInstanceOf(HyperbandPruner);
  });

  it('reports every mistake at once, each with its path', () => {
    const found = issues({
      ...minimal,
      space: {
        'algo.learningRate': { type: 'float', low: 0, high: 1e-4, log: true },
        'algo.clip': { type: 'float', low: 0.3, high: 0.1, step: 0.05 },
        'bad name!': { type: 'categorical', choices: ['a'] },
      },
      concurrency: 20,
      direction: 'up',
      extra: true,
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^space\.algo\.learningRate\.low: log needs low > 0/),
        expect.stringMatching(/^space\.algo\.clip\.low: low \(0\.3\) must be <= high \(0\.1\)/),
        expect.stringMatching(/^space\.bad name!/),
        expect.stringMatching(/^direction:/),
        expect.stringMatching(/extra/),
      ]),
    );
    expect(issues({ ...minimal, concurrency: 20 })).toEqual(['concurrency: concurrency (20) must be <= nTrials (16)']);
  });

  it('a grid sweep needs discrete parameters and covers them exactly', () => {
    expect(issues({ ...minimal, sampler: { type: 'grid' } })).toEqual(['space.algo.learningRate: the grid sampler needs a step on float parameters']);
    const config = parseSweepConfig({
      ...minimal,
      sampler: { type: 'grid', seed: 0 },
      space: { clip: { type: 'float', low: 0.1, high: 0.3, step: 0.1 }, epochs: { type: 'int', low: 1, high: 4, step: 3 }, opt: { type: 'categorical', choices: ['adam', 'sgd'] } },
    });
    const sampler = samplerFromConfig(config.sampler, config.space) as GridSampler;
    expect(sampler.size).toBe(3 * 2 * 2);
  });
});

describe('sweep files and recipes', () => {
  it('loads a sweep file (the one the README shows), applying the --storage override', async () => {
    const config = await loadSweepConfig(join(here, '..', '..', 'recipes', 'sweep-ppo.ts'), { storage: 'sqlite:////tmp/sweeps.db' });
    expect([config.name, config.concurrency, config.storage, config.pruner]).toEqual([
      'sweep-ppo',
      4,
      'sqlite:////tmp/sweeps.db',
      { type: 'median', nStartupTrials: 4, nWarmupSteps: 10, intervalSteps: 1 },
    ]);
    await expect(loadSweepConfig(join(here, 'fixtures', 'missing.ts'))).rejects.toThrow(/does not exist/);
  });

  it("overlays a trial's parameters onto the base recipe and names paths the recipe lacks", () => {
    const base = { algo: { learningRate: 1e-5, klCoefficient: 0.1 }, rollout: { batchSize: 8 } };
    expect(overlayParams(base, { 'algo.learningRate': 3e-5, 'rollout.batchSize': 32 })).toEqual({ algo: { learningRate: 3e-5, klCoefficient: 0.1 }, rollout: { batchSize: 32 } });
    expect(base.algo.learningRate).toBe(1e-5);
    expect(() => overlayParams(base, { 'algo.learningRat': 1 })).toThrow(/space\.algo\.learningRat: the base recipe has no algo\.learningRat/);
  });
});
