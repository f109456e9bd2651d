import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type HfTokenizer } from '../../../data/tokenizers/index.ts';
import { padTokenRows, readCompletion } from '../../../data/tokenizers/token-rows.ts';
import { ArithmeticTask, createTask, goldRewardsOfTokens, preferenceBatch, promptBatch, SentimentTask, sequenceBatch } from '../../../models/tasks/index.ts';
import { BOS_ID, CharTokenizer, EOS_ID, PAD_ID } from '../../../models/tokenizer.ts';
import { gpt2Directory, qwen3Directory, removeGpt2Directory } from '../../data/tokenizers/fixture-folders.ts';

describe('with the character tokenizer, the generic batches equal its own methods (bench-S unchanged)', () => {
  const tokenizer = new CharTokenizer();
  const task = new SentimentTask({ seed: 3 });

  it('prompt batches equal encodeLeftPadded, sequence rows equal encode(bos) + encode(eos), limits stay', () => {
    const prompts = task.evalPrompts(8);
    expect(promptBatch(task.tokenizer, prompts, { length: 16 })).toEqual(tokenizer.encodeLeftPadded(prompts, { length: 16 }));
    const examples = [0, 1, 2, 3, 4].map((index) => task.sftExample(index));
    const rows = examples.map((example) => [...tokenizer.encode(example.prompt, { bos: true }), ...tokenizer.encode(example.completion, { eos: true })]);
    const batch = sequenceBatch(task.tokenizer, examples);
    expect({ ...batch, completionMask: undefined, promptLengths: undefined }).toEqual({ ...tokenizer.padRows(rows, 'right'), completionMask: undefined, promptLengths: undefined });
    expect(Array.from(batch.promptLengths)).toEqual(examples.map((example) => 1 + example.prompt.length));
    expect(task.limits).toEqual({ promptTokens: 16, completionTokens: 32, sequenceTokens: 48 });
    expect(new ArithmeticTask().limits).toEqual({ promptTokens: 7, completionTokens: 6, sequenceTokens: 13 });
  });

  it('readCompletion equals CharTokenizer.readCompletion, padTokenRows equals padRows', () => {
    const [x, y] = tokenizer.encode('xy');
    for (const ids of [[x!, y!, EOS_ID, PAD_ID], [x!, y!], [x!, BOS_ID, EOS_ID], [PAD_ID, x!, PAD_ID, y!], []]) {
      expect(readCompletion(tokenizer, ids)).toEqual(tokenizer.readCompletion(ids));
    }
    const rows = [[5, 6, 7], [8], []];
    for (const side of ['left', 'right'] as const) expect(padTokenRows(rows, side, PAD_ID, 4)).toEqual(tokenizer.padRows(rows, side, 4));
  });
});

describe.each([
  ['GPT-2', () => loadTokenizer(gpt2Directory())],
  ['Qwen3', () => loadTokenizer(qwen3Directory)],
] as const)('the text tasks run on the %s tokenizer', (_, load) => {
  let tokenizer: HfTokenizer;
  beforeAll(async () => {
    tokenizer = await load();
  }, 60_000);
  afterAll(removeGpt2Directory);

  it('sentiment: limits counted in its tokens; batches decode back to the text; gold rewards read its ids', () => {
    const task = new SentimentTask({ seed: 1 }, tokenizer);
    const characterTask = new SentimentTask({ seed: 1 });
    expect(task.sftExample(5)).toEqual(characterTask.sftExample(5));
    expect(task.preferencePair(7, { labelNoise: 0.1 })).toEqual(characterTask.preferencePair(7, { labelNoise: 0.1 }));
    expect(task.limits.promptTokens).toBe(Math.max(...task.trainPromptSet().concat(task.evalPrompts()).map((prompt) => tokenizer.encode(prompt).length)));
    expect(task.limits.completionTokens).toBeLessThan(characterTask.limits.completionTokens);
    expect(task.limits.sequenceTokens).toBe(task.limits.promptTokens + task.limits.completionTokens);

    const examples = [0, 1, 2].map((index) => task.sftExample(index));
    const batch = sequenceBatch(task.tokenizer, examples);
    examples.forEach((example, row) => {
      const ids = Array.from(batch.ids.subarray(row * batch.length, row * batch.length + batch.lengths[row]!));
      expect(ids.at(-1)).toBe(tokenizer.eosTokenId);
      expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(example.prompt + example.completion);
      const completion = ids.filter((__, position) => batch.completionMask[row * batch.length + position] === 1);
      expect(completion).toEqual([...tokenizer.encode(example.completion, { addSpecialTokens: false }), tokenizer.eosTokenId]);
      expect(batch.ids[row * batch.length + batch.length - 1]).toBe(batch.lengths[row] === batch.length ? tokenizer.eosTokenId : tokenizer.padTokenId);
    });
    const pairs = preferenceBatch(task.tokenizer, [0, 1].map((index) => task.preferencePair(index)));
    expect(pairs.chosen.length).toBe(pairs.rejected.length);

    const prompts = promptBatch(task.tokenizer, task.evalPrompts(4), { length: task.limits.promptTokens });
    expect(prompts.length).toBe(task.limits.promptTokens);
    const width = task.limits.completionTokens;
    const generated = [
      [...tokenizer.encode(' truly great!', { addSpecialTokens: false }), tokenizer.eosTokenId],
      tokenizer.encode(' great and', { addSpecialTokens: false }),
    ].map((row) => [...row, ...new Array(width - row.length).fill(tokenizer.padTokenId)]);
    const rewards = goldRewardsOfTokens(task, ['the film was', 'the film was'], Int32Array.from(generated.flat()), width);
    expect(rewards[0]).toBe(1);
    expect(rewards[1]).toBeLessThan(0);
  });

  it('arithmetic: limits counted over every problem in its tokens; every example fits', () => {
    const task = createTask({ name: 'arithmetic', seed: 2 }, tokenizer);
    expect(task.tokenizer).toBe(tokenizer);
    for (let index = 0; index < 200; index++) {
      const example = task.sftExample(index);
      expect(tokenizer.encode(example.prompt).length).toBeLessThanOrEqual(task.limits.promptTokens);
      expect(tokenizer.encode(example.completion, { addSpecialTokens: false }).length + 1).toBeLessThanOrEqual(task.limits.completionTokens - 2);
    }
    expect(tokenizer.encode('99+99=').length).toBeLessThanOrEqual(task.limits.promptTokens);
    expect(() => createTask({ name: 'random-tokens' }, tokenizer)).toThrow(/cannot take another tokenizer/);
    expect(() => createTask({ name: 'arithmetic', maxOperand: 999, operations: ['+'] }, tokenizer)).toThrow(/at most 200000 problems/);
  });
});
