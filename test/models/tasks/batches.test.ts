import { describe, expect, it } from 'vitest';
import { goldRewardsOfTokens, preferenceBatch, promptBatch, SentimentTask, sequenceBatch } from '../../../models/tasks/index.ts';
import { BOS_ID, EOS_ID, PAD_ID } from '../../../models/tokenizer.ts';

const task = new SentimentTask({ seed: 2 });
const { tokenizer } = task;

describe('task batches', () => {
  it('sequence batches are BOS prompt completion EOS, right-padded, with the completion and EOS masked in', () => {
    const batch = sequenceBatch(tokenizer, [
      { prompt: 'ab', completion: 'c' },
      { prompt: 'a', completion: 'bcd' },
    ]);
    const [a, b, c, d] = tokenizer.encode('abcd');
    expect(batch.length).toBe(6);
    expect(Array.from(batch.ids)).toEqual([BOS_ID, a, b, c, EOS_ID, PAD_ID, BOS_ID, a, b, c, d, EOS_ID]);
    expect(Array.from(batch.completionMask)).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(batch.promptLengths)).toEqual([3, 2]);
  });

  it('preference batches pad chosen and rejected to one length', () => {
    const pairs = [0, 1, 2, 3].map((index) => task.preferencePair(index));
    const batch = preferenceBatch(tokenizer, pairs);
    expect(batch.chosen.length).toBe(batch.rejected.length);
    expect(batch.chosen.batchSize).toBe(4);
    expect(tokenizer.decode(batch.chosen.ids.subarray(0, batch.chosen.length))).toBe(pairs[0]!.prompt + pairs[0]!.chosen);
  });

  it('prompt batches are left-padded to the requested length', () => {
    const batch = promptBatch(tokenizer, task.evalPrompts(3), { length: task.limits.promptTokens });
    expect(batch.length).toBe(16);
    expect(batch.ids[15]).toBe(tokenizer.encode(task.evalPrompts(1)[0]!.slice(-1))[0]);
  });

  it('gold rewards of generated ids read up to EOS; no EOS or an intruding special token is malformed', () => {
    const prompts = ['the film was', 'the film was', 'the film was'];
    const width = 12;
    const rows = [
      [...tokenizer.encode(' great.'), EOS_ID],
      tokenizer.encode(' great and f'), // cut off by the generation length: a valid prefix, but unfinished
      [...tokenizer.encode(' great'), PAD_ID, ...tokenizer.encode('.'), EOS_ID],
    ].map((row) => [...row, ...new Array(width - row.length).fill(PAD_ID)]);
    const rewards = goldRewardsOfTokens(task, prompts, Int32Array.from(rows.flat()), width);
    expect(rewards[0]).toBe(1);
    expect(rewards[1]).toBeCloseTo(-1.05, 6);
    expect(rewards[2]).toBeLessThan(-1);
    expect(() => goldRewardsOfTokens(task, prompts, new Int32Array(5), width)).toThrow(/expected 3 prompts x 12/);
  });
});
