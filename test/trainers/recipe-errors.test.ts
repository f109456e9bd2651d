/**
 * Bad recipes and overrides: each gives a clear message that names the field (or the file) and exits with code
 * 2, with no stack trace. Runs the real `recipe` command with --dry-run (validation only).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECIPE_SECTIONS, type RecipeInput } from '../../trainers/recipe.ts';

const directory = mkdtempSync(join(tmpdir(), 'posttrain-recipe-errors-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const GOOD = `export default {
  name: 'demo',
  task: { name: 'sentiment' },
  stages: { sft: { trainer: { steps: 10 } }, reward: {}, ppo: { trainer: { steps: 5 } } },
};
`;

function recipeFile(name: string, source: string): string {
  const path = join(directory, `${name}.ts`);
  writeFileSync(path, source);
  return path;
}

const good = recipeFile('good', GOOD);
const variant = (name: string, edit: (source: string) => string) => recipeFile(name, edit(GOOD));

interface Case {
  name: string;
  args: string[];
  /** Every fragment must appear in stderr. */
  expect: string[];
}

const cases: Case[] = [
  { name: 'missing file', args: [join(directory, 'nope.ts')], expect: ['recipe:', 'no recipe file at'] },
  { name: 'no default export', args: [recipeFile('no-default', 'export const recipe = {};\n')], expect: ['recipe:', 'must have a default export'] },
  { name: 'default export is an array', args: [recipeFile('array', 'export default [1, 2];\n')], expect: ['recipe:', 'must have a default export'] },
  { name: 'syntax error', args: [recipeFile('syntax', 'export default { name: ;\n')], expect: ['recipe:', 'could not be loaded'] },
  { name: 'missing name', args: [variant('no-name', (s) => s.replace("name: 'demo',", ''))], expect: ['name:', 'expected string'] },
  { name: 'unknown top-level key', args: [variant('top-key', (s) => s.replace("name: 'demo',", "name: 'demo', epochs: 3,"))], expect: ['(root): unknown key "epochs"', 'allowed keys'] },
  { name: 'unknown task', args: [good, '--set', 'task.name=poetry'], expect: ['task.name:', '"sentiment"'] },
  { name: 'no stages', args: [variant('no-stages', (s) => s.replace(/stages: \{.*\},/, 'stages: {},'))], expect: ['stages: name at least one stage'] },
  { name: 'unknown stage', args: [good, '--set', 'stages.rlhf.trainer.steps=3'], expect: ['stages:', 'unknown key "rlhf"'] },
  { name: 'shared key inside a stage', args: [good, '--set', 'stages.ppo.task.name=sentiment'], expect: ['stages.ppo.task:', 'shared by every stage'] },
  { name: 'unknown key inside a stage', args: [good, '--set', 'stages.ppo.bogus=1'], expect: ['stages.ppo.bogus:', 'a stage may set'] },
  { name: 'clip range out of range', args: [good, '--set', 'stages.ppo.algo.clipRange=2'], expect: ['stages.ppo.algo.clipRange:', '<1'] },
  { name: 'batch not divisible by minibatches', args: [good, '--set', 'stages.ppo.rollout.batchSize=30'], expect: ['stages.ppo.algo.minibatches:', 'rollout.batchSize (30) must be divisible by algo.minibatches (4)'] },
  { name: 'heads do not divide width', args: [good, '--set', 'model.nHeads=3'], expect: ['model.nHeads:', 'dModel (128) must be divisible by nHeads (3)'] },
  { name: 'context too short for the task', args: [good, '--set', 'model.contextLength=16'], expect: ['model.contextLength:', 'must hold the sentiment task'] },
  { name: 'negative learning rate', args: [good, '--set', 'stages.sft.trainer.learningRate=-1'], expect: ['stages.sft.trainer.learningRate:', '>0'] },
  { name: 'steps given as a word', args: [good, '--set', 'stages.ppo.trainer.steps=many'], expect: ['stages.ppo.trainer.steps:', 'expected number'] },
  { name: 'override without a value', args: [good, '--set', 'novalue'], expect: ['must look like path.to.field=value'] },
  { name: 'run name with a slash', args: [good, '--set', 'name="a/b"'], expect: ['name:', 'letters, digits'] },
  { name: 'unknown backend', args: [good, '--set', 'runtime.backend=gpu'], expect: ['runtime.backend:', '"wasm"'] },
  { name: 'PPO without a reward model or reward functions', args: [variant('no-reward', (s) => s.replace(' reward: {},', ''))], expect: ['stages.ppo.init.reward:', 'PPO needs a reward: a reward model (add a reward stage or set init.reward), reward functions (rewards), or both'] },
  { name: 'DPO on a task without preferences', args: [variant('dpo-arith', (s) => s.replace("task: { name: 'sentiment' }", "task: { name: 'arithmetic' }").replace(/stages: \{.*\},/, 'stages: { sft: {}, dpo: {} },'))], expect: ['task.name:', 'DPO needs preference pairs: a preference task (sentiment) or a preference dataset (data)'] },
  { name: 'checkpoint URI scheme', args: [good, '--set', 'checkpoint.uri=ftp://host/x'], expect: ['checkpoint.uri:', 'must start with s3:// or file://'] },
  { name: 'GRPO group of one', args: [variant('grpo', (s) => s.replace(/stages: \{.*\},/, 'stages: { sft: {}, grpo: { rollout: { samplesPerPrompt: 1 } } },'))], expect: ['stages.grpo.rollout.samplesPerPrompt:', '>=2'] },
  { name: 'rewards for a stage that does not read them', args: [good, '--set', 'stages.reward.rewards=[{"module":"./r.ts"}]'], expect: ['stages.reward.rewards:', 'the reward stage does not read rewards yet; the stages that do: dpo, ppo, grpo'] },
  { name: 'rewards with no stage that reads them', args: [variant('rewards-unread', (s) => s.replace(/stages: \{.*\},/, 'stages: { sft: {}, reward: {} },')), '--set', 'rewards=[{"module":"./r.ts"}]'], expect: ['rewards:', 'no stage of this recipe (sft, reward) reads rewards; the stages that do: dpo, ppo, grpo'] },
  { name: 'misspelt role', args: [good, '--set', 'runtime.roles.polciy.groupSize=2'], expect: ['runtime.roles.polciy:', 'unknown role "polciy"'] },
  { name: 'bad log level flag', args: [good, '--log-level', 'loud'], expect: ["option '--log-level <level>' argument 'loud' is invalid", 'must be one of'] },
];

/**
 * A bad value for every top-level section of a recipe, each set through --set as a user would. Checked by
 * validation before anything reads the section (`logging.level=shouting` once crashed with a TypeError because the
 * raw logging section was used to name the run directory).
 */
const BAD_VALUE_PER_SECTION: Record<keyof RecipeInput, { set: string; expect: string[] }[]> = {
  name: [{ set: 'name=""', expect: ['name:'] }],
  seed: [{ set: 'seed=-1', expect: ['seed:', '>=0'] }],
  task: [{ set: 'task.seed=-3', expect: ['task.seed:', '>=0'] }],
  model: [{ set: 'model.nLayers=0', expect: ['model.nLayers:', '>=1'] }],
  data: [{ set: 'data.evalFraction=2', expect: ['data.evalFraction:', '<1'] }],
  rewards: [{ set: 'rewards=[]', expect: ['rewards:', '>=1'] }],
  runtime: [
    { set: 'runtime.threads=0', expect: ['runtime.threads:', '>=1'] },
    { set: 'runtime.colocate="some"', expect: ['runtime.colocate:'] },
  ],
  checkpoint: [{ set: 'checkpoint.resume="always"', expect: ['checkpoint.resume:', '"auto"|"never"'] }],
  logging: [
    { set: 'logging.level=shouting', expect: ['logging.level:', '"fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"'] },
    { set: 'logging.runsDirectory=""', expect: ['logging.runsDirectory:'] },
    { set: 'logging.metricsPort=70000', expect: ['logging.metricsPort:', '<=65535'] },
  ],
  stages: [{ set: 'stages.sft.trainer.batchSize=0', expect: ['stages.sft.trainer.batchSize:', '>=1'] }],
};

function runRecipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(import.meta.dirname, '../../bin/recipe.js'), 'run', ...args, '--dry-run'], { timeout: 60_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr });
    });
  });
}

describe('recipe run rejects bad input with exit code 2 and a message naming the field', () => {
  it('accepts the good recipe (so every failure below is the edit, not the base)', async () => {
    const result = await runRecipe([good]);
    expect(result.stderr).not.toContain('invalid');
    expect(result.code).toBe(0);
  });

  it.concurrent.each(cases)('$name', async ({ args, expect: fragments }) => {
    const result = await runRecipe(args);
    expect(result.code).toBe(2);
    for (const fragment of fragments) expect(result.stderr).toContain(fragment);
    expect(result.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  });
});

describe('every top-level section of a recipe rejects a bad value with exit code 2', () => {
  it('has a bad value for each section the recipe schema has', () => {
    expect(Object.keys(BAD_VALUE_PER_SECTION).sort()).toEqual([...RECIPE_SECTIONS].sort());
  });

  const sectionCases = Object.entries(BAD_VALUE_PER_SECTION).flatMap(([section, values]) => values.map((value) => ({ section, ...value })));
  it.concurrent.each(sectionCases)('$section: --set $set', async ({ set, expect: fragments }) => {
    const result = await runRecipe([good, '--set', set]);
    expect(result.stderr).not.toContain('unexpected error');
    expect(result.code).toBe(2);
    for (const fragment of fragments) expect(result.stderr).toContain(fragment);
    expect(result.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  });
});
