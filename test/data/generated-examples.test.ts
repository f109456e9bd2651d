/**
 * The committed example data is what the generator writes, every file validates for the stages that use it, the
 * eval prompts are disjoint from training, and the example reward module scores the right answers 1 and the
 * rejected ones 0.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { arithmeticDatasets } from '../../data/generate/arithmetic-word-problems.ts';
import { loadDataset } from '../../data/datasets/index.ts';
import { loadRewardFunctions } from '../../rollout/reward-functions.ts';
import { contextColumns, scoreCompletions } from '../../rollout/reward-scores.ts';

const root = join(import.meta.dirname, '../..');
const dataDir = join(root, 'examples/data/arithmetic');

describe('examples/data/arithmetic', () => {
  it('is exactly what data/generate/arithmetic-word-problems.ts writes with seed 2026', () => {
    for (const [file, text] of Object.entries(arithmeticDatasets(2026))) expect(readFileSync(join(dataDir, file), 'utf8')).toBe(text);
  });

  it('validates for each stage that uses it, with eval prompts never seen in training', async () => {
    const options = (stage: 'sft' | 'grpo' | 'dpo' | 'reward' | 'ppo') => ({ stage, baseDir: dataDir, seed: 0 });
    const grpo = await loadDataset({ train: 'prompts.jsonl', eval: 'prompts-eval.jsonl' }, options('grpo'));
    expect(grpo.format.kind).toBe('prompt-only');
    expect((await loadDataset({ train: 'sft.jsonl', evalFraction: 0.1 }, options('sft'))).format.kind).toBe('prompt-completion');
    expect((await loadDataset({ train: 'preference.jsonl' }, options('dpo'))).format.kind).toBe('preference');
    await loadDataset({ train: 'preference.jsonl' }, options('reward'));
    await loadDataset({ train: 'sft.jsonl' }, options('ppo'));
    const trainPrompts = new Set((await grpo.train.read(range(grpo.train.size))).map((sample) => sample.prompt));
    const evalPrompts = (await grpo.eval!.read(range(grpo.eval!.size))).map((sample) => sample.prompt);
    expect(evalPrompts.filter((prompt) => trainPrompts.has(prompt))).toEqual([]);
  });

  it('examples/rewards/math.ts scores chosen completions 1 and rejected 0 on every function', async () => {
    const pairs = await loadDataset({ train: 'preference.jsonl' }, { stage: 'dpo', baseDir: dataDir, seed: 0 });
    const samples = await pairs.train.read(range(50));
    const functions = await loadRewardFunctions(
      [
        { module: './math.ts', export: 'accuracy' },
        { module: './math.ts', export: 'exactAnswer' },
      ],
      { baseDir: join(root, 'examples/rewards') },
    );
    const context = { prompts: samples.map((sample) => sample.prompt as string), completionIds: samples.map(() => [0]), ...contextColumns(samples) };
    const chosen = await scoreCompletions(functions, samples.map((sample) => sample.chosen as string), context);
    const rejected = await scoreCompletions(functions, samples.map((sample) => sample.rejected as string), context);
    expect(Array.from(chosen.total)).toEqual(new Array(50).fill(2));
    expect(Array.from(rejected.total)).toEqual(new Array(50).fill(0));
    const format = await loadRewardFunctions([{ module: './math.ts', export: 'format' }], { baseDir: join(root, 'examples/rewards') });
    expect(Array.from((await scoreCompletions(format, samples.map((sample) => sample.rejected as string), context)).total)).toEqual(new Array(50).fill(1));
    expect(Array.from((await scoreCompletions(format, ['22', ' 7 + 15 = 22'], { prompts: ['', ''], completionIds: [[], []] })).total)).toEqual([0, 0]);
  });
});

describe('examples/rewards/style.ts', () => {
  it('scores calm notes 1 and shouted ones 0, and calmMessage gives nothing for a calm note that does not deliver the message', async () => {
    const pairs = await loadDataset({ train: 'preferences.jsonl' }, { stage: 'dpo', baseDir: join(root, 'examples/data/preferences'), seed: 0 });
    const samples = await pairs.train.read(range(40));
    const load = (name: string) => loadRewardFunctions([{ module: './style.ts', export: name }], { baseDir: join(root, 'examples/rewards') });
    const context = { prompts: samples.map((sample) => sample.prompt as string), completionIds: samples.map(() => [0]) };
    const score = async (name: string, completions: string[]) => Array.from((await scoreCompletions(await load(name), completions, context)).total);
    for (const name of ['calm', 'calmMessage']) {
      expect(await score(name, samples.map((sample) => sample.chosen as string))).toEqual(new Array(40).fill(1));
      expect(await score(name, samples.map((sample) => sample.rejected as string))).toEqual(new Array(40).fill(0));
    }
    // The gamed note of the measured PPO runs: calm by the rule, but it tells nobody anything.
    expect(await score('calm', new Array(40).fill(' Thanks.'))).toEqual(new Array(40).fill(1));
    expect(await score('calmMessage', new Array(40).fill(' Thanks.'))).toEqual(new Array(40).fill(0));
    // Another person's name or another message is not delivery either.
    const other = samples.map((sample, index) => samples[(index + 1) % 40]!.chosen as string);
    const othersDiffer = samples.map((sample, index) => sample.chosen !== samples[(index + 1) % 40]!.chosen);
    expect((await score('calmMessage', other)).filter((value, index) => othersDiffer[index] && value !== 0)).toEqual([]);
    // Prompts of another form are judged by calm alone.
    expect(Array.from((await scoreCompletions(await load('calmMessage'), [' Hello there.', 'HI!'], { prompts: ['Say hello.', 'Say hello.'], completionIds: [[], []] })).total)).toEqual([1, 0]);
  });
});

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}
