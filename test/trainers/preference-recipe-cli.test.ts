/**
 * "DPO on my preference pairs" and "PPO on my prompts" through the real `recipe` command: a DPO recipe whose data
 * and reward module sit next to it, `--set data.train=FILE` to swap the pairs, and a dataset in the wrong format
 * for its stage (prompts given to DPO or to the reward model, pairs given to PPO) exiting 2 with a message that
 * says which format the stage needs, and no stack trace.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { preparePreferenceRoot, type writePreferenceFiles } from './preference-files.ts';

let root: string;
let files: ReturnType<typeof writePreferenceFiles>;
/** One-stage recipes next to the data, by stage. */
const recipes: Record<'dpo' | 'reward' | 'ppo', string> = { dpo: '', reward: '', ppo: '' };
beforeAll(() => {
  ({ root, files } = preparePreferenceRoot('preference-recipe-cli'));
  const stages = {
    dpo: "dpo: { rollout: { promptTokens: 32, completionTokens: 4 }, trainer: { steps: 1, batchSize: 4, evalEvery: 0, evalPairs: 4, evalPrompts: 2, evalSamplesPerPrompt: 1 } }",
    reward: 'reward: { trainer: { steps: 1, batchSize: 4, evalEvery: 0, evalPairs: 4 } }',
    ppo: "ppo: { init: { reward: './llama' }, data: { train: './prompts.jsonl', evalFraction: 0.2 }, rollout: { batchSize: 2, promptTokens: 24, completionTokens: 4 }, algo: { epochs: 1, minibatches: 1 }, trainer: { steps: 1, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 } }",
  };
  for (const stage of ['dpo', 'reward', 'ppo'] as const) {
    recipes[stage] = join(root, `${stage}.ts`);
    writeFileSync(
      recipes[stage],
      `export default {
  name: '${stage}-files',
  task: { name: 'arithmetic' },
  model: { from: './llama' },
  data: { train: './pairs.jsonl', evalFraction: 0.25 },
  ${stage === 'reward' ? '' : "rewards: [{ module: './style.ts', export: 'calm' }],"}
  runtime: { backend: 'wasm', threads: 1 },
  logging: { runsDirectory: ${JSON.stringify(join(root, 'runs'))}, level: 'error', progress: false },
  stages: { ${stages[stage]} },
};
`,
    );
  }
});

function recipeRun(recipe: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(import.meta.dirname, '../../bin/recipe.js'), 'run', recipe, '--force', ...args], { timeout: 360_000, cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('recipe run with your preference pairs', () => {
  it('runs DPO on the implicit-prompt pairs given with --set data.train, its eval samples scored by the recipe’s reward module', async () => {
    const result = await recipeRun(recipes.dpo, ['--set', `data.train=${JSON.stringify(files.implicit)}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ method: 'dpo', steps: 1, finalHeldOut: { preferenceAccuracy: expect.any(Number) }, finalRewards: { 'style.ts#calm': expect.any(Number) } });
  }, 400_000);

  const cases = [
    { name: 'prompts given to DPO', recipe: 'dpo' as const, set: () => `data.train=${JSON.stringify(files.prompts)}`, expect: ['the dpo stage needs a preference or implicit-prompt-preference dataset', 'found a prompt-only dataset'] },
    { name: 'prompts given to the reward model', recipe: 'reward' as const, set: () => `data.train=${JSON.stringify(files.prompts)}`, expect: ['the reward stage needs a preference or implicit-prompt-preference dataset', 'found a prompt-only dataset'] },
    { name: 'pairs given to PPO', recipe: 'ppo' as const, set: () => `stages.ppo.data.train=${JSON.stringify(files.pairs)}`, expect: ['the ppo stage needs a prompt-only or prompt-completion dataset', 'found a preference dataset'] },
  ];
  it.each(cases)('exits 2 on $name, saying which format the stage needs, with no stack trace', async (each) => {
    const result = await recipeRun(recipes[each.recipe], ['--set', each.set()]);
    expect(result.code).toBe(2);
    for (const fragment of each.expect) expect(result.stderr).toContain(fragment);
    expect(result.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  }, 400_000);

  it('recipes/sft-dpo-ppo-files.ts takes --set data.train=FILE: the reward and DPO stages change, SFT and PPO (their own data) do not', async () => {
    const plan = (args: string[]) =>
      new Promise<{ stage: string; hash: string }[]>((resolve, reject) => {
        const command = [join(import.meta.dirname, '../../bin/recipe.js'), 'run', join(import.meta.dirname, '../../recipes/sft-dpo-ppo-files.ts'), '--dry-run', '--set', `model=${JSON.stringify({ from: join(root, 'llama') })}`, ...args];
        execFile(process.execPath, command, { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(JSON.parse(stdout).stages)));
      });
    const [original, swapped] = await Promise.all([plan([]), plan(['--set', `data.train=${JSON.stringify(files.pairs)}`])]);
    expect(swapped.map((stage) => stage.stage)).toEqual(['sft', 'reward', 'dpo', 'ppo']);
    const changed = swapped.filter((stage, index) => stage.hash !== original[index]!.hash).map((stage) => stage.stage);
    expect(changed).toEqual(['reward', 'dpo']);
  }, 120_000);
});
