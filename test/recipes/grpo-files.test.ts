/**
 * GRPO in recipes/grpo-files.ts raises the held-out reward, run as a new user runs it from a fresh clone: the model
 * folder `recipe model init --out DIR --tokenizer gpt2` writes (the same functions, the same seed), then `recipe
 * run` with the step counts and the eval size cut (SFT 50 steps instead of 100, GRPO 8 steps of 4 prompts instead of
 * 16 of 8) and GRPO's learning rate raised to 1e-3. The data, the reward module and the sampling are the recipe's.
 * The held-out reward after GRPO must beat the SFT policy's on the same 50 eval prompts: evaluation samples from a
 * fixed seed, so with GRPO's update disabled (learning rate 1e-12, run by hand: reward 0.216 -> 0.216, format 0.68
 * -> 0.68) after equals before exactly and this test fails; the run is seeded on one wasm thread, so it gives the
 * same figures every time on a machine.
 *
 * Measured (one wasm thread, load average 30-40 on the 2-core dev machine): held-out reward 0.216 -> 0.264, format
 * 0.68 -> 0.82, accuracy 0.08 -> 0.10 (noise: what 8 steps teach is the format); 25 minutes there. Not timed on a
 * quiet machine (SFT ran about 3 s a step at this shape on a less loaded one: expect about 3 minutes).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initLlamaFolder, shapeForTokenizer, TINY_LLAMA, writeTokenizerFiles } from '../../models/hf/init-model.ts';
import { temporaryDirectory } from '../faults/helpers.ts';

const REPOSITORY = join(import.meta.dirname, '../..');

/**
 * Budgets, one thread (the same figures on every run), and GRPO's learning rate at 1e-3 (the recipe's 3e-4 is for
 * its 16 steps; 8 steps at 1e-3 is what was measured here): every other setting is the recipe's.
 */
const TINY_BUDGET = [
  'runtime.backend=wasm', 'runtime.threads=1', 'stages.grpo.trainer.learningRate=1e-3',
  'stages.sft.trainer.steps=50', 'stages.sft.trainer.evalEvery=0',
  'stages.grpo.rollout.promptsPerStep=4', 'stages.grpo.trainer.steps=8', 'stages.grpo.trainer.evalEvery=0',
  'stages.grpo.trainer.evalPrompts=50', 'stages.grpo.trainer.evalSamplesPerPrompt=1',
];

let root: string;
beforeAll(() => {
  root = temporaryDirectory('grpo-files-recipe');
  // What `recipe model init --out DIR --tokenizer gpt2` does (bin/commands/model.ts: --shape tiny, --seed 0).
  initLlamaFolder(join(root, 'llama'), shapeForTokenizer(TINY_LLAMA, 'gpt2'), { seed: 0 });
  writeTokenizerFiles(join(root, 'llama'), 'gpt2');
});

function recipeRun(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const command = [join(REPOSITORY, 'bin/recipe.js'), 'run', join(REPOSITORY, 'recipes/grpo-files.ts'), '--runs-dir', join(root, 'runs'), '--log-level', 'error', ...args];
    execFile(process.execPath, command, { timeout: 600_000, cwd: REPOSITORY }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('recipes/grpo-files.ts', () => {
  it('raises the held-out reward above the SFT policy’s with the recipe’s data, reward module and GRPO settings', async () => {
    const overrides = [`model.from=${JSON.stringify(join(root, 'llama'))}`, ...TINY_BUDGET].flatMap((override) => ['--set', override]);
    const result = await recipeRun(['--name', 'learns', ...overrides]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(root, 'runs', 'learns', 'grpo', 'summary.json'), 'utf8'));
    expect(summary.steps).toBe(8);
    // The same 50 eval prompts, sampled from the same seed, before and after GRPO (measured +0.048; equal when the
    // update is disabled). The `#### <n>` format is what 8 steps teach most: 0.68 -> 0.82 measured.
    expect(summary.finalGoldReward).toBeGreaterThan(summary.baselineGoldReward + 0.02);
    const format = 'examples/rewards/math.ts#format';
    expect(summary.finalRewards[format]).toBeGreaterThan(summary.baselineRewards[format] + 0.05);
  }, 600_000);
});
