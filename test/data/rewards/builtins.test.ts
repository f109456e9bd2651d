/** The built-in rewards on hand-written completions with known answers. */
import { describe, expect, it } from 'vitest';
import { extractNumericAnswer, lengthPenalty, numericAnswerMatch, regexFormat } from '../../../data/rewards/index.ts';

const context = (size: number, columns: Record<string, unknown[]> = {}) => ({ prompts: new Array<string>(size).fill('p'), completionIds: Array.from({ length: size }, () => [1, 2, 3]), ...columns });

describe('extractNumericAnswer', () => {
  it.each([
    ['so the answer is \\boxed{42}.', 42],
    ['first \\boxed{1} then \\boxed{\\frac{3}{4}}', 0.75],
    ['\\boxed{-\\frac{1}{2}}', -0.5],
    ['\\boxed{$1,200$}', 1200],
    ['She pays 3 * 4 = 12 dollars.\n#### 12', 12],
    ['#### 1,234.5 (rounded from 1234.49)', 1234.5],
    ['I think 12, no wait, 13.', 13],
    ['negative: -7', -7],
    ['a fraction 3/4', 4],
    ['no digits here', undefined],
  ])('%j -> %j', (text, expected) => {
    expect(extractNumericAnswer(text)).toBe(expected);
  });
});

describe('numericAnswerMatch', () => {
  it('scores 1 for the reference number, 0 otherwise, reading string and number references', () => {
    const accuracy = numericAnswerMatch({ column: 'answer' });
    const completions = ['7 + 5 = 12. #### 12', 'It is \\boxed{12.0}', 'It is 13', 'no idea', 'Half: 0.5'];
    expect(accuracy(completions, context(5, { answer: [12, '12', 12, 12, 'Half of it.\n#### 1/2'] }))).toEqual([1, 1, 0, 0, 0]);
  });

  it('a missing reference column names the option that fixes it', () => {
    expect(() => numericAnswerMatch({ column: 'solution' })(['1'], context(1, { answer: [1] }))).toThrow(/no column "solution".*columns: prompts, completionIds, answer/);
  });
});

describe('regexFormat', () => {
  it('rewards completions that match, with a stateless pattern even when given the g flag', () => {
    const format = regexFormat({ pattern: /^<answer>\d+<\/answer>$/g, matched: 1, unmatched: -1 });
    expect(format(['<answer>4</answer>', '<answer>4</answer>', 'four'], context(3))).toEqual([1, 1, -1]);
  });
});

describe('lengthPenalty', () => {
  it('is 0 at the target and -penalty per token off it (or only over it)', () => {
    const ids = { completionIds: [[1], [1, 2, 3], [1, 2, 3, 4, 5]] };
    expect(lengthPenalty({ target: 3, penalty: 0.5 })(['a', 'b', 'c'], { ...context(3), ...ids })).toEqual([-1, 0, -1]);
    expect(lengthPenalty({ target: 3, penalty: 0.5, overOnly: true })(['a', 'b', 'c'], { ...context(3), ...ids })).toEqual([0, 0, -1]);
    expect(lengthPenalty({ target: 2, penalty: 1, unit: 'characters' })(['ab', 'abcd'], context(2))).toEqual([0, -2]);
  });
});
