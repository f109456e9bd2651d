/**
 * User reward modules: loaded relative to the recipe file, combined by weight with each function's values kept,
 * and every broken contract (throws, NaN, wrong length, not numbers) stops the step with the function, the
 * sample and the value; loading mistakes name the recipe field. All exit 2 from the CLI.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportError } from '../../bin/cli-errors.ts';
import { RewardFunctionError } from '../../rollout/reward-function-error.ts';
import { loadRewardFunctions } from '../../rollout/reward-functions.ts';
import { contextColumns, scoreCompletions } from '../../rollout/reward-scores.ts';
import { ConfigError } from '../../runtime/errors.ts';

/** The recipe would live in test/data/fixtures; its rewards are in ./rewards. */
const baseDir = join(import.meta.dirname, '../data/fixtures');
const context = (size: number) => ({ prompts: new Array<string>(size).fill('say hi'), completionIds: Array.from({ length: size }, () => [1]) });

async function failure(module: string, exportName: string, completions: string[]): Promise<RewardFunctionError> {
  const functions = await loadRewardFunctions([{ module, export: exportName }], { baseDir });
  const error = await scoreCompletions(functions, completions, context(completions.length)).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(RewardFunctionError);
  expect(error).toBeInstanceOf(ConfigError);
  return error as RewardFunctionError;
}

describe('scoreCompletions', () => {
  it('sums weight * value and keeps each function unweighted, by module#export', async () => {
    const functions = await loadRewardFunctions(
      [
        { module: './rewards/misbehaving.ts', weight: 2 },
        { module: './rewards/returns-nan.ts', export: 'ratio', weight: 0.5 },
      ],
      { baseDir },
    );
    expect(functions.map((loaded) => loaded.name)).toEqual(['./rewards/misbehaving.ts#default', './rewards/returns-nan.ts#ratio']);
    const { total, perFunction } = await scoreCompletions(functions, ['aa!', 'ab', 'bbbb'], context(3));
    expect(Array.from(perFunction['./rewards/misbehaving.ts#default']!)).toEqual([1, 0, 0]);
    expect(Array.from(perFunction['./rewards/returns-nan.ts#ratio']!)).toEqual([2 / 3, 0.5, 0]);
    expect(Array.from(total)).toEqual([2 + 1 / 3, 0.25, 0]);
  });

  it('passes dataset columns per completion', async () => {
    expect(contextColumns([{ columns: { answer: 1, source: 'a' } }, { columns: { answer: 2 } }])).toEqual({ answer: [1, 2], source: ['a', undefined] });
  });
});

describe('a reward function that breaks the contract stops the step, naming the function, sample and value', () => {
  it('throws', async () => {
    const error = await failure('./rewards/throws.ts', 'accuracy', ['a', 'b']);
    expect(error.message).toBe("reward ./rewards/throws.ts#accuracy: threw on a batch of 2 completions: Cannot read properties of undefined (reading 'answer')");
    expect(error.code).toBe('REWARD_FUNCTION');
  });

  it('returns NaN', async () => {
    const error = await failure('./rewards/returns-nan.ts', 'ratio', ['a', 'b', '']);
    expect(error.message).toBe('reward ./rewards/returns-nan.ts#ratio: sample 2: returned NaN, expected a finite number');
  });

  it('returns Infinity, booleans, the wrong length or no array', async () => {
    expect((await failure('./rewards/misbehaving.ts', 'infinite', ['a', 'b', 'c'])).message).toBe('reward ./rewards/misbehaving.ts#infinite: sample 2: returned Infinity, expected a finite number');
    expect((await failure('./rewards/misbehaving.ts', 'booleans', ['a'])).message).toBe('reward ./rewards/misbehaving.ts#booleans: sample 0: returned true, expected a finite number');
    expect((await failure('./rewards/misbehaving.ts', 'tooFew', ['a', 'b'])).message).toBe(
      'reward ./rewards/misbehaving.ts#tooFew: returned 1 values for 2 completions, expected one per completion',
    );
    expect((await failure('./rewards/misbehaving.ts', 'notArray', ['a'])).message).toBe(
      'reward ./rewards/misbehaving.ts#notArray: returned 1, expected an array of 1 numbers (one per completion)',
    );
  });

  it('exits 2 from the CLI', async () => {
    const error = await failure('./rewards/returns-nan.ts', 'ratio', ['']);
    const written: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      expect(reportError(error, 'recipe run')).toBe(2);
    } finally {
      process.stderr.write = original;
    }
    expect(written.join('')).toContain('reward ./rewards/returns-nan.ts#ratio: sample 0: returned NaN, expected a finite number');
  });
});

describe('loading mistakes name the recipe field', () => {
  it.each([
    [[{ module: './rewards/nope.ts' }], 'rewards.0.module', /no reward module at .*nope\.ts \(module paths are relative to the recipe file\)/],
    [[{ module: './rewards/misbehaving.ts', export: 'missing' }], 'rewards.0.export', /has no export "missing"; its function exports: .*tooFew/],
    [[{ module: './rewards/misbehaving.ts', export: 'notAFunction' }], 'rewards.0.export', /is a number, expected a function/],
    [[{ module: './rewards/broken-syntax.mts' }], 'rewards.0.module', /could not be loaded/],
    [[{ module: './rewards/throws.ts', export: 'accuracy' }, { module: './rewards/throws.ts', export: 'accuracy' }], 'rewards.1', /listed twice/],
    [[{ module: './rewards/throws.ts', weight: Number.NaN }], 'rewards.0.weight', /./],
    [[], 'rewards', /./],
  ])('%j -> %s', async (specs, path, message) => {
    const error = await loadRewardFunctions(specs as never, { baseDir }).catch((thrown: unknown) => thrown as ConfigError);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]!.path).toBe(path);
    expect((error as ConfigError).issues[0]!.message).toMatch(message);
  });
});
