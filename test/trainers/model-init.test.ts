/**
 * `model.init`: a recipe writes its fresh Llama into `model.from` when that folder holds no model, byte for byte
 * what `recipe model init` writes for the same tokenizer, sizes and seed; bad sizes, a missing `from` and a folder
 * of other sizes are errors naming the field. `recipe model init`'s size flags are checked the same way (exit 2).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.ts';
import { planRecipe } from '../../trainers/recipe.ts';
import { writeFreshModels } from '../../trainers/fresh-model.ts';
import { SFTTrainer } from '../../trainers/sft-trainer.ts';
import { temporaryDirectory } from '../faults/helpers.ts';

const RECIPE = join(import.meta.dirname, '../../bin/recipe.js');

const recipeOf = (from: string, init: Record<string, unknown>, initSeed = 3) => ({
  name: 'fresh',
  task: { name: 'arithmetic' },
  model: { from, init, initSeed },
  logging: { runsDirectory: join(from, '..', 'runs') },
  stages: { sft: { trainer: { steps: 1 } } },
});

function issuesOf(plan: () => unknown): { path: string; message: string }[] {
  try {
    plan();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function recipeCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RECIPE, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('model.init', () => {
  it('writes the folder recipe model init writes for the same sizes and seed, once, and the recipe validates against it', async () => {
    const root = temporaryDirectory('model-init');
    const from = join(root, 'llama');
    const recipe = recipeOf(from, { hidden: 32, layers: 1, heads: 2, kvHeads: 1, intermediate: 48 });
    expect(writeFreshModels(recipe)).toEqual([from]);
    expect(writeFreshModels(recipe)).toEqual([]);
    expect(planRecipe(recipe).stages.map((stage) => stage.stage)).toEqual(['sft']);
    const cli = await recipeCommand(['model', 'init', '--out', join(root, 'cli'), '--hidden', '32', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--intermediate', '48', '--seed', '3']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(readdirSync(from).sort()).toEqual(readdirSync(join(root, 'cli')).sort());
    for (const file of readdirSync(from)) expect(readFileSync(join(from, file)).equals(readFileSync(join(root, 'cli', file))), file).toBe(true);
    expect(readdirSync(root).filter((name) => name.includes('partial'))).toEqual([]);
  });

  it('is written by whoever plans or builds: planRecipe (recipe run, resume, sweep, a program) and a trainer built in code', () => {
    const root = temporaryDirectory('model-init-entry');
    const planned = join(root, 'planned');
    const plan = planRecipe(recipeOf(planned, { hidden: 32, layers: 1 }));
    expect(plan.freshModels).toEqual([planned]);
    expect(existsSync(join(planned, 'config.json'))).toBe(true);
    expect(planRecipe(recipeOf(planned, { hidden: 32, layers: 1 })).freshModels).toEqual([]);
    const built = join(root, 'built');
    const { stages: _stages, ...trainerConfig } = recipeOf(built, { hidden: 32, layers: 1 });
    const trainer = new SFTTrainer({ ...trainerConfig, task: { name: 'arithmetic' }, trainer: { steps: 1 } });
    expect(trainer.config.model.from).toBe(built);
    expect(readdirSync(built).sort()).toEqual(readdirSync(planned).sort());
  });

  it('names the field: sizes that do not fit, no model.from, and a folder that holds a model of other sizes', () => {
    const root = temporaryDirectory('model-init-errors');
    const from = join(root, 'llama');
    expect(issuesOf(() => planRecipe(recipeOf(from, { hidden: 60, heads: 8 })))).toContainEqual({
      path: 'model.init.heads',
      message: 'must divide hidden (60) into an even head dimension (RoPE rotates pairs), got 8 heads (head dimension 7.5)',
    });
    expect(issuesOf(() => planRecipe(recipeOf(from, { heads: 4, kvHeads: 3 })))).toContainEqual({ path: 'model.init.kvHeads', message: 'must divide heads (4), got 3' });
    const { from: _from, ...withoutFrom } = recipeOf(from, { hidden: 32 }).model;
    expect(issuesOf(() => planRecipe({ ...recipeOf(from, {}), model: withoutFrom }))).toContainEqual({
      path: 'model.init',
      message: 'model.init writes a fresh model into model.from: set model.from to the folder to write (e.g. runs/my-llama)',
    });
    writeFreshModels(recipeOf(from, { hidden: 32, layers: 1 }));
    expect(issuesOf(() => planRecipe(recipeOf(from, { hidden: 64, layers: 1 })))).toContainEqual({
      path: 'model.init',
      message: `${from} already holds a model of other sizes: hidden_size 32 (model.init: 64); delete the folder to have a fresh one written, or drop model.init to train the one there`,
    });
  });

  it('recipe model init rejects sizes that do not fit with exit 2 naming the flag, and writes the sizes asked for', async () => {
    const root = temporaryDirectory('model-init-cli');
    const bad = await recipeCommand(['model', 'init', '--out', join(root, 'bad'), '--hidden', '60', '--heads', '8', '--layers', 'two']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--layers: must be a positive integer, got "two"');
    expect(bad.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
    const heads = await recipeCommand(['model', 'init', '--out', join(root, 'bad'), '--hidden', '60', '--heads', '8']);
    expect(heads.code).toBe(2);
    expect(heads.stderr).toContain('--heads: must divide hidden (60) into an even head dimension');
    const good = await recipeCommand(['model', 'init', '--out', join(root, 'good'), '--tokenizer', 'gpt2', '--hidden', '32', '--heads', '2', '--intermediate', '64']);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(root, 'good', 'config.json'), 'utf8'))).toMatchObject({ hidden_size: 32, num_attention_heads: 2, num_key_value_heads: 2, intermediate_size: 64, vocab_size: 50257, head_dim: 16 });
  });
});
