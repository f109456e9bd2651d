/**
 * "Run GRPO on my prompts with my reward function" through the real `recipe` command: a recipe whose data and
 * reward module sit next to it (paths relative to the recipe file), `--set data.train=FILE` to swap the prompts,
 * and the user's mistakes (a malformed row, a missing column, a wrong type, an empty completion, pairs given to GRPO,
 * a reward function that throws or returns NaN)
 * each exit 2 with a message naming the file and line, or the function and the sample, and no stack trace.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeByoFiles } from './byo-files.ts';
import { prepareLlamaRoot } from './tiny-llama-suite.ts';

let root: string;
let recipe: string;
let files: ReturnType<typeof writeByoFiles>;
beforeAll(() => {
  root = prepareLlamaRoot('byo-recipe-cli');
  files = writeByoFiles(root);
  recipe = join(root, 'byo.ts');
  writeFileSync(
    recipe,
    `export default {
  name: 'byo',
  task: { name: 'arithmetic' },
  model: { from: './llama' },
  data: { train: './prompts.jsonl', evalFraction: 0.2 },
  rewards: [{ module: './rewards.ts', export: 'containsAnswer' }],
  runtime: { backend: 'wasm', threads: 1 },
  logging: { runsDirectory: ${JSON.stringify(join(root, 'runs'))}, level: 'error', progress: false },
  stages: { grpo: { rollout: { promptsPerStep: 2, samplesPerPrompt: 2, promptTokens: 24, completionTokens: 4 }, trainer: { steps: 1, evalEvery: 0, evalPrompts: 2 } } },
};
`,
  );
});

function recipeRun(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(import.meta.dirname, '../../bin/recipe.js'), 'run', recipe, '--force', ...args], { timeout: 120_000, cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('recipe run with your data and reward module', () => {
  it('runs GRPO with the recipe’s reward module (a path relative to the recipe) on a prompts file given with --set data.train', async () => {
    const result = await recipeRun(['--set', `data.train=${JSON.stringify(files.prompts)}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Reward functions are named by their module as the user wrote it (relative to the working directory).
    expect(JSON.parse(result.stdout)).toMatchObject({ method: 'grpo', steps: 1, finalRewards: { 'rewards.ts#containsAnswer': expect.any(Number) } });
  });

  const rewards = (exportName: string) => `rewards=${JSON.stringify([{ module: files.rewards, export: exportName }])}`;
  // Rows written for the cases below: the second row of each file is the bad one.
  const badFile = (name: string, second: Record<string, unknown>) => {
    const path = join(root, name);
    writeFileSync(path, `${JSON.stringify({ prompt: 'what is 1 plus 1?', completion: ' 2', answer: 2 })}\n${JSON.stringify(second)}\n`);
    return `data.train=${JSON.stringify(path)}`;
  };
  const cases = [
    { name: 'a missing column', set: () => badFile('missing.jsonl', { completion: ' 3', answer: 3 }), expect: () => ['missing.jsonl:2: column "prompt": found nothing (the column is absent), expected a string'] },
    { name: 'a wrong type', set: () => badFile('wrong-type.jsonl', { prompt: 42, completion: ' 3', answer: 3 }), expect: () => ['wrong-type.jsonl:2: column "prompt": found a number 42, expected a string'] },
    { name: 'an empty completion', set: () => badFile('empty.jsonl', { prompt: 'what is 1 plus 2?', completion: '', answer: 3 }), expect: () => ['empty.jsonl:2: column "completion": found an empty string, expected non-empty text'] },
    { name: 'a malformed row', set: () => `data.train=${JSON.stringify(files.malformed)}`, expect: () => [`${files.malformed}:3`, 'JSON'] },
    { name: 'preference pairs given to GRPO', set: () => `data.train=${JSON.stringify(files.pairs)}`, expect: () => ['the grpo stage needs a prompt-only or prompt-completion dataset', 'found a preference dataset'] },
    { name: 'a reward function that throws', set: () => rewards('throws'), expect: () => ['reward rewards.ts#throws:', 'threw on a batch of', 'cannot score'] },
    { name: 'a reward function that returns NaN', set: () => rewards('nan'), expect: () => ['reward rewards.ts#nan:', 'sample 1: returned NaN, expected a finite number'] },
  ];
  it.each(cases)('exits 2 on $name with the message and no stack trace', async (each) => {
    const result = await recipeRun(['--set', each.set()]);
    expect(result.code).toBe(2);
    for (const fragment of each.expect()) expect(result.stderr).toContain(fragment);
    expect(result.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  });

  it('recipes/grpo-files.ts takes --set data.train=FILE: the GRPO stage changes, the SFT stage (its own data) does not', async () => {
    const plan = (args: string[]) =>
      new Promise<{ stage: string; hash: string }[]>((resolve, reject) => {
        const command = [join(import.meta.dirname, '../../bin/recipe.js'), 'run', join(import.meta.dirname, '../../recipes/grpo-files.ts'), '--dry-run', '--set', `model.from=${JSON.stringify(join(root, 'gpt2-llama'))}`, ...args];
        execFile(process.execPath, command, { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(JSON.parse(stdout).stages)));
      });
    const [original, swapped] = await Promise.all([plan([]), plan(['--set', `data.train=${JSON.stringify(files.prompts)}`])]);
    expect(swapped.map((stage) => stage.stage)).toEqual(['sft', 'grpo']);
    expect(swapped[0]!.hash).toBe(original[0]!.hash);
    expect(swapped[1]!.hash).not.toBe(original[1]!.hash);
  });
});
