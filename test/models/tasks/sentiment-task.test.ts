import { describe, expect, it } from 'vitest';
import {
  bestGoldReward,
  corpusExpectedGoldReward,
  DataCursor,
  parseSentimentCompletion,
  SentimentTask,
  TaskError,
  takeRange,
} from '../../../models/tasks/index.ts';
import { ADJECTIVES, ADVERBS, ALL_PROMPTS } from '../../../models/tasks/sentiment-language.ts';
import { ConfigError } from '../../../runtime/errors.ts';
import { thrownBy } from '../../expect-error.ts';

const task = new SentimentTask({ seed: 11 });
const prompt = 'the film was';

describe('SentimentTask gold reward', () => {
  it('scores hand-written completions: positive > neutral > negative, all well-formed ones in [-1, 1]', () => {
    const score = (completion: string) => task.goldReward(prompt, completion);
    expect(score(' great and lovely!')).toBe(1);
    expect(score(' truly superb.')).toBe(1);
    expect(score(' very good.')).toBe(0.5);
    expect(score(' okay.')).toBe(0);
    expect(score(' good and bad.')).toBe(-0.25);
    expect(score(' so dull!')).toBe(-0.5);
    expect(score(' awful and gross.')).toBe(-1);
    expect(bestGoldReward).toBe(1);
  });

  it('degenerate repetition of a positive word scores below the most negative sentence', () => {
    expect(task.goldReward(prompt, ' great great great')).toBeCloseTo(-1.5 + (0.45 * 7) / 18, 12);
    expect(task.goldReward(prompt, ' great and great.')).toBeLessThan(-1);
    expect(task.goldReward(prompt, ` ${'great '.repeat(5)}great!`)).toBeLessThan(-1);
    expect(task.goldReward(prompt, ' good and nice and fun.')).toBeLessThan(-1);
  });

  it('malformed or unfinished completions score in [-1.5, -1.05], ordered by how much of them parses', () => {
    const malformed = [' good', ' goood.', ' good..', 'good.', ' very.', ' xq zv', '', ' good.\uFFFD'];
    for (const completion of malformed) {
      const reward = task.goldReward(prompt, completion);
      expect(reward, completion).toBeGreaterThanOrEqual(-1.5);
      expect(reward, completion).toBeLessThanOrEqual(-1.05);
    }
    expect(task.goldReward(prompt, ' good.', { finished: false })).toBeCloseTo(-1.05, 12);
    expect(task.goldReward(prompt, ' good')).toBeCloseTo(-1.05, 12);
    expect(task.goldReward(prompt, '')).toBe(-1.5);
    expect(task.goldReward(prompt, ' xq zv')).toBeLessThan(task.goldReward(prompt, ' goood.'));
    expect(parseSentimentCompletion(' good good', true).error).toBe('expected " and " or an end mark at 5');
    expect(parseSentimentCompletion(' fun and fun.', true).error).toBe('adjective "fun" repeated at 9');
  });

  it('no word can be mistaken for the start of another (the parser never back-tracks)', () => {
    const words = [...ADJECTIVES, ...ADVERBS, 'and'];
    for (const word of words) {
      for (const other of words) if (other !== word) expect(other.startsWith(word), `${word} / ${other}`).toBe(false);
    }
  });

  it('an unknown prompt is an error rather than a silent score', () => {
    expect(() => task.goldReward('the film is not', ' good.')).toThrow(TaskError);
  });
});

describe('SentimentTask data', () => {
  it('is deterministic in (seed, index) and independent of draw order, so a cursor resumes exactly', () => {
    const again = new SentimentTask({ seed: 11 });
    expect(again.sftExample(5)).toEqual(task.sftExample(5));
    expect(takeRange((index) => again.trainPrompt(index), 0, 20)).toEqual(takeRange((index) => task.trainPrompt(index), 0, 20));
    expect(takeRange((index) => new SentimentTask({ seed: 12 }).sftExample(index), 0, 20)).not.toEqual(
      takeRange((index) => task.sftExample(index), 0, 20),
    );
    const uninterrupted = new DataCursor((index) => task.sftExample(index));
    const first = uninterrupted.next(7);
    const resumed = new DataCursor((index) => again.sftExample(index), uninterrupted.position);
    expect(first).toHaveLength(7);
    expect(resumed.next(9)).toEqual(uninterrupted.next(9));
  });

  it('every corpus sentence, prompt and pair encodes, round-trips and fits the bench-S shapes', () => {
    const { tokenizer, limits } = task;
    expect(tokenizer.vocabSize).toBeLessThanOrEqual(64);
    expect(limits.sequenceTokens).toBeLessThanOrEqual(64);
    const check = (promptText: string, completion: string) => {
      const promptIds = tokenizer.encode(promptText, { bos: true });
      const completionIds = tokenizer.encode(completion, { eos: true });
      expect(promptIds.length).toBeLessThanOrEqual(limits.promptTokens);
      expect(completionIds.length).toBeLessThanOrEqual(limits.completionTokens);
      expect(tokenizer.decode([...promptIds, ...completionIds])).toBe(promptText + completion);
    };
    for (const each of ALL_PROMPTS) check(each, '');
    for (let index = 0; index < 2000; index++) {
      const example = task.sftExample(index);
      check(example.prompt, example.completion);
      const pair = task.preferencePair(index, { labelNoise: 0.1 });
      check(pair.prompt, pair.chosen);
      check(pair.prompt, pair.rejected);
    }
  });

  it('the corpus is well-formed, of mixed sentiment, and its mean gold reward matches the exported expectation', () => {
    const rewards = takeRange((index) => task.sftExample(index), 0, 4000).map((example) =>
      task.goldReward(example.prompt, example.completion),
    );
    expect(Math.min(...rewards)).toBe(-1);
    expect(Math.max(...rewards)).toBe(1);
    const mean = rewards.reduce((sum, reward) => sum + reward, 0) / rewards.length;
    expect(Math.abs(mean - corpusExpectedGoldReward)).toBeLessThan(0.04);
    expect(task.reward).toEqual({ min: -1.5, best: 1, corpusExpected: 0 });
  });

  it('eval prompts never appear among train prompts, SFT examples or preference pairs', () => {
    const evalSet = new Set(task.evalPrompts());
    expect(evalSet.size).toBe(26);
    expect(task.trainPromptSet().filter((each) => evalSet.has(each))).toEqual([]);
    expect(task.trainPromptSet().length + evalSet.size).toBe(ALL_PROMPTS.length);
    for (let index = 0; index < 1000; index++) {
      expect(evalSet.has(task.sftExample(index).prompt)).toBe(false);
      expect(evalSet.has(task.trainPrompt(index))).toBe(false);
      expect(evalSet.has(task.preferencePair(index).prompt)).toBe(false);
    }
    expect(new SentimentTask({ seed: 12 }).evalPrompts()).not.toEqual(task.evalPrompts());
  });
});

describe('SentimentTask preference pairs', () => {
  it('without noise the chosen completion always has the higher gold reward', () => {
    for (let index = 0; index < 500; index++) {
      const pair = task.preferencePair(index);
      expect(pair.labelFlipped).toBe(false);
      expect(pair.chosenGoldReward).toBeGreaterThan(pair.rejectedGoldReward);
      expect(task.goldReward(pair.prompt, pair.chosen)).toBe(pair.chosenGoldReward);
    }
  });

  it('label noise flips the stated share of labels, and only the label changes', () => {
    const count = 4000;
    const noise = 0.25;
    let flipped = 0;
    for (let index = 0; index < count; index++) {
      const clean = task.preferencePair(index);
      const noisy = task.preferencePair(index, { labelNoise: noise });
      expect(noisy.labelFlipped).toBe(noisy.chosenGoldReward < noisy.rejectedGoldReward);
      expect(new Set([noisy.chosen, noisy.rejected])).toEqual(new Set([clean.chosen, clean.rejected]));
      if (noisy.labelFlipped) flipped++;
    }
    // Binomial standard error at n = 4000, p = 0.25 is 0.0068; 0.03 is 4.4 of them.
    expect(Math.abs(flipped / count - noise)).toBeLessThan(0.03);
  });

  it('some pairs teach the grammar: a share of them reject malformed text', () => {
    const pairs = takeRange((index) => task.preferencePair(index), 0, 1000);
    const withMalformed = pairs.filter((pair) => pair.rejectedGoldReward < -1).length / pairs.length;
    expect(withMalformed).toBeGreaterThan(0.1);
    expect(withMalformed).toBeLessThan(0.35);
  });

  it('rejects bad options with errors naming the field', () => {
    expect(() => task.preferencePair(0, { labelNoise: 1.5 })).toThrow(/labelNoise: must be a probability/);
    const error = thrownBy(() => new SentimentTask({ seed: 1, evalFraction: 2, colour: 'red' } as never), ConfigError);
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['task', 'task.evalFraction']);
  });
});
