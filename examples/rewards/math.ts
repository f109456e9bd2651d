/**
 * A reward module as a user writes one, for the arithmetic word problems in examples/data/arithmetic. A recipe
 * names its exports (paths relative to the recipe file):
 *
 *   rewards: [
 *     { module: '../examples/rewards/math.ts', export: 'accuracy', weight: 1 },
 *     { module: '../examples/rewards/math.ts', export: 'format', weight: 0.2 },
 *   ]
 *
 * Each export is `(completions: string[], context: { prompts, completionIds, ...columns }) => number[]`; the
 * dataset's `answer` column arrives as `context.answer`, one entry per completion.
 */
import { numericAnswerMatch, regexFormat, type RewardFunction } from '../../data/rewards/index.ts';

/** 1 when the final number (after `####`, or the last one) equals the `answer` column, else 0. */
export const accuracy: RewardFunction = numericAnswerMatch({ column: 'answer' });

/** 1 when the completion shows a calculation and ends in GSM8K's `#### <number>` line, else 0. */
export const format: RewardFunction = regexFormat({ pattern: String.raw`^\s*\d+ [-+*] \d+ = -?\d+\n#### -?\d+\s*$` });

/** The same accuracy written by hand, to show the contract without the built-in. */
export const exactAnswer: RewardFunction = (completions, context) =>
  completions.map((completion, index) => {
    const last = completion.trim().split('\n').at(-1) ?? '';
    return last === `#### ${String(context.answer[index])}` ? 1 : 0;
  });
