import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../runtime/index.ts';
import { parseSweepConfig, trialsThatFit } from '../../tune/index.ts';
import { quantile } from '../../tune/sweep-launcher.ts';
import { stoppedEarly } from '../../tune/shared-stages.ts';
import { planSweep } from '../../tune/sweep-plan.ts';
import { finalKey } from '../../tune/trial-runner.ts';
import tinyPpo from './fixtures/tiny-ppo-recipe.ts';
import { configIssueLines } from '../expect-error.ts';

const sweep = {
  name: 'plan-test',
  baseRecipe: 'test/tune/fixtures/tiny-ppo-recipe.ts',
  space: {
    'stages.ppo.trainer.learningRate': { type: 'float', low: 1e-5, high: 1e-3, log: true },
    // Not set in the recipe: any field of the stage's config may be searched.
    'stages.ppo.algo.clipRange': { type: 'float', low: 0.1, high: 0.3 },
    'stages.ppo.rollout.batchSize': { type: 'categorical', choices: [8, 16] },
  },
  metric: 'goldReward',
  direction: 'maximize',
  nTrials: 8,
  concurrency: 4,
};

const problems = (input: object, recipe: unknown = tinyPpo): string[] => configIssueLines(() => planSweep(parseSweepConfig(input), recipe));

describe('planning a sweep over a recipe', () => {
  it('runs the earlier stages once under the sweep name and gives each trial its values, resources and threads', () => {
    const plan = planSweep(parseSweepConfig({ ...sweep, trial: { resources: { CPU: 0.5, GPU: 1 }, threads: 1 }, overrides: { 'stages.ppo.trainer.steps': 4 } }), tinyPpo, {
      runsDirectory: '/tmp/sweep-runs',
    });
    expect(plan.directory).toBe('/tmp/sweep-runs/plan-test');
    expect(plan.sharedStages.map((stage) => [stage.stage, stage.directory])).toEqual([
      ['sft', '/tmp/sweep-runs/plan-test/sft'],
      ['reward', '/tmp/sweep-runs/plan-test/reward'],
    ]);
    expect(plan.stage).toBe('ppo');
    expect(plan.trialDirectory(7)).toBe('/tmp/sweep-runs/plan-test/trial-7');

    const input = plan.trialInput({ 'stages.ppo.trainer.learningRate': 3e-4, 'stages.ppo.algo.clipRange': 0.15, 'stages.ppo.rollout.batchSize': 16 }, 7) as Record<string, any>;
    expect(input.name).toBe('plan-test-trial-7');
    expect(input.trainer).toMatchObject({ learningRate: 3e-4, steps: 4, evalEvery: 0 });
    expect(input.algo).toMatchObject({ clipRange: 0.15, epochs: 2, minibatches: 2 });
    expect(input.rollout.batchSize).toBe(16);
    expect(input.init).toEqual({ policy: '/tmp/sweep-runs/plan-test/sft/model', reward: '/tmp/sweep-runs/plan-test/reward/model' });
    expect(input.runtime.threads).toBe(1);
    for (const role of ['policy', 'reference', 'reward', 'value', 'rollout']) expect(input.runtime.roles[role].resources).toEqual({ CPU: 0.5, GPU: 1 });
    expect(input.logging.progress).toBe(false);
  });

  it('names every search-space mistake with its path before anything runs', () => {
    expect(
      problems({
        ...sweep,
        space: {
          'stages.ppo.algo.klCoeff': { type: 'float', low: 0.01, high: 0.1 },
          'stages.sft.trainer.steps': { type: 'int', low: 1, high: 3 },
          'trainer.learningRate': { type: 'float', low: 1e-5, high: 1e-3 },
          'stages.ppo.rollout.batchSize': { type: 'categorical', choices: [8, 7] },
          'stages.ppo.algo.clipRange': { type: 'float', low: 0.1, high: 1.5 },
          'stages.ppo.trainer.learningRate.value': { type: 'float', low: 0.1, high: 0.2 },
        },
      }),
    ).toEqual([
      expect.stringMatching(/^space\.stages\.ppo\.algo\.klCoeff: the base recipe's ppo stage has no field algo\.klCoeff \(stages\.ppo\.algo: unknown key "klCoeff"; allowed keys: clipRange, .*klCoef/),
      expect.stringMatching(/^space\.stages\.sft\.trainer\.steps: search-space names are paths into the tuned stage of the base recipe \(its last stage, ppo\)/),
      expect.stringMatching(/^space\.trainer\.learningRate: search-space names are paths into the tuned stage/),
      'space.stages.ppo.rollout.batchSize: 7 is not a valid value here: stages.ppo.algo.minibatches: rollout.batchSize (7) must be divisible by algo.minibatches (2)',
      expect.stringMatching(/^space\.stages\.ppo\.algo\.clipRange: 1\.5 is not a valid value here: stages\.ppo\.algo\.clipRange: /),
      'space.stages.ppo.trainer.learningRate.value: stages.ppo.trainer.learningRate is 0.001 in the base recipe, not a section',
    ]);
  });

  it('rejects bad overrides, an evaluation metric that is never logged, and a base recipe that is not one', () => {
    expect(problems({ ...sweep, overrides: { 'stages.ppo.trainer.steps.x': 1 } })).toEqual(['overrides.stages.ppo.trainer.steps.x: stages.ppo.trainer.steps is 10 in the base recipe, not a section']);
    expect(problems({ ...sweep, overrides: { 'stages.ppo.trainer.stepz': 1 } })).toEqual([expect.stringMatching(/^stages\.ppo\.trainer: unknown key "stepz"/)]);
    expect(problems({ ...sweep, metric: 'evalGoldReward' })).toEqual([expect.stringMatching(/^metric: evalGoldReward is only logged on evaluation steps, and stages\.ppo\.trainer\.evalEvery is 0/)]);
    expect(problems({ ...sweep, metric: 'evalGoldReward', overrides: { 'stages.ppo.trainer.evalEvery': 2 } })).toEqual([]);
    expect(problems(sweep, 'not a recipe')).toEqual(['baseRecipe: test/tune/fixtures/tiny-ppo-recipe.ts must default-export a recipe object']);
  });
});

describe('shared stages', () => {
  it('counts a stage run that stopped before its planned steps as not reusable', () => {
    const plan = planSweep(parseSweepConfig(sweep), tinyPpo, { runsDirectory: mkdtempSync(join(tmpdir(), 'posttrain-shared-')) });
    const sft = plan.sharedStages[0]!;
    mkdirSync(sft.directory, { recursive: true });
    const write = (summary: object, lastStep: number) => {
      writeFileSync(join(sft.directory, 'summary.json'), JSON.stringify(summary));
      writeFileSync(join(sft.directory, 'metrics.jsonl'), `${Array.from({ length: lastStep }, (_, index) => JSON.stringify({ step: index + 1 })).join('\n')}\n`);
    };
    expect(stoppedEarly(sft)).toBeUndefined();
    write({ steps: 10 }, 10);
    expect(stoppedEarly(sft)).toBeUndefined();
    write({ steps: 10 }, 4);
    expect(stoppedEarly(sft)).toBe('stopped at step 4 of 10');
    write({ steps: 10, stoppedBy: 'SIGINT' }, 10);
    expect(stoppedEarly(sft)).toBe('SIGINT');
  });
});

describe('sweep figures', () => {
  it('counts the trials that fit at once on the nodes', () => {
    const node = (total: Record<string, number>): NodeInfo => ({ nodeId: 'n', total, free: total, gpuIds: [], alive: true });
    expect(trialsThatFit([node({ CPU: 2, GPU: 4 })], { CPU: 0.5, GPU: 1 }, 1)).toBe(4);
    expect(trialsThatFit([node({ CPU: 2, GPU: 4 }), node({ CPU: 1, GPU: 4 })], { CPU: 0.5, GPU: 1 }, 1)).toBe(6);
    expect(trialsThatFit([node({ CPU: 2, GPU: 4 })], { CPU: 0.5, GPU: 1 }, 2)).toBe(2);
    expect(trialsThatFit([node({ CPU: 2 })], { CPU: 0.5, GPU: 1 }, 1)).toBe(0);
  });

  it('takes quantiles as numpy does and maps a metric to its final summary field', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.99)).toBeCloseTo(49.6, 10);
    expect(finalKey('goldReward')).toBe('finalGoldReward');
    expect(finalKey('evalGoldReward')).toBe('finalGoldReward');
    expect(finalKey('kl')).toBe('finalKl');
    expect(finalKey('evaluation')).toBe('finalEvaluation');
  });
});

describe('recipe sweep on bad input', () => {
  const repository = resolve(import.meta.dirname, '../..');
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/recipe.js', 'sweep', ...args], { cwd: repository, encoding: 'utf8', env: { ...process.env, CI: 'true' } });

  it('exits 2 with every problem of the sweep file and its base recipe, and checks capacity before training', () => {
    const directory = mkdtempSync(join(tmpdir(), 'posttrain-sweep-cli-'));
    writeFileSync(join(directory, 'package.json'), '{"type":"module"}');
    const file = join(directory, 'bad-sweep.ts');
    writeFileSync(
      file,
      `export default ${JSON.stringify({ ...sweep, space: { ...sweep.space, 'stages.ppo.algo.klCoeff': { type: 'float', low: 0.01, high: 0.1 } }, storage: `sqlite:///${join(directory, 's.db')}` })};`,
    );
    const bad = run(file);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/recipe sweep: invalid recipe, argument or option:\n {2}space\.stages\.ppo\.algo\.klCoeff: the base recipe's ppo stage has no field algo\.klCoeff/);
    expect(bad.stderr).not.toMatch(/ at /);

    const missing = join(directory, 'missing-base.ts');
    writeFileSync(missing, `export default ${JSON.stringify({ ...sweep, baseRecipe: 'recipes/nope.ts' })};`);
    expect(run(missing)).toMatchObject({ status: 2, stderr: expect.stringMatching(/baseRecipe: no recipe file at .*recipes\/nope\.ts/) });

    const crowded = join(directory, 'crowded.ts');
    writeFileSync(
      crowded,
      `export default ${JSON.stringify({ ...sweep, nodes: [{ resources: { CPU: 2, GPU: 2 } }], trial: { resources: { CPU: 0.5, GPU: 1 } }, storage: `sqlite:///${join(directory, 'c.db')}` })};`,
    );
    const tooMany = run(crowded, '--runs-dir', join(directory, 'runs'));
    expect(tooMany.status).toBe(2);
    expect(tooMany.stderr).toMatch(/concurrency: 4 trials of 1 x \{"CPU":0\.5,"GPU":1\} do not fit at once .*at most 2 do/);
  });
});
