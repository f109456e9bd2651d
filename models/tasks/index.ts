/**
 * Tasks: seeded data, prompts and gold rewards that let a trainer prove it learned something.
 *
 * @example
 * const task = createTask({ name: 'sentiment', seed: 1 });
 * const cursor = new DataCursor((index) => task.sftExample(index));
 * const batch = sequenceBatch(task.tokenizer, cursor.next(32));
 */
import { ConfigError } from '../../runtime/errors.ts';
import { ArithmeticTask, type ArithmeticTaskOptions } from './arithmetic-task.ts';
import { SentimentTask, type SentimentTaskOptions } from './sentiment-task.ts';
import { RandomTokensTask, type RandomTokensTaskOptions } from './random-tokens-task.ts';
import type { Task } from './task.ts';
import type { Tokenizer } from '../../data/tokenizers/tokenizer.ts';

export type { GoldRewardOptions, PreferencePair, PreferenceTask, RewardReference, SftExample, Task, TaskLimits } from './task.ts';
export { isPreferenceTask } from './task.ts';
export { TaskError } from './task-error.ts';
export { DataCursor, takeRange } from './data-cursor.ts';
export { goldRewardsOfTokens, preferenceBatch, promptBatch, sequenceBatch } from './batches.ts';
export type { PreferenceBatch, SequenceBatch } from './batches.ts';
export { SentimentTask, SentimentTaskOptions } from './sentiment-task.ts';
export { ArithmeticTask, ArithmeticTaskOptions } from './arithmetic-task.ts';
export { RandomTokensTask, RandomTokensTaskOptions } from './random-tokens-task.ts';
export {
  bestGoldReward,
  corpusExpectedGoldReward,
  parseSentimentCompletion,
  sentimentGoldReward,
  worstGoldReward,
} from './sentiment-gold.ts';

/** The task names `createTask` knows. */
export const TASK_NAMES = ['sentiment', 'arithmetic', 'random-tokens'] as const;
export type TaskConfig =
  | ({ name: 'sentiment' } & SentimentTaskOptions)
  | ({ name: 'arithmetic' } & ArithmeticTaskOptions)
  | ({ name: 'random-tokens' } & RandomTokensTaskOptions);

/**
 * Builds a task from its JSON description (the shape `task.toJSON()` writes), validating every option. `tokenizer`
 * (default: the character tokenizer) serves the text tasks, sentiment and arithmetic; random-tokens is defined by
 * its own alphabet and takes none.
 *
 * @example
 * createTask({ name: 'arithmetic', seed: 7, operations: ['+', '-'] });
 * createTask({ name: 'sentiment' }, await loadTokenizer('./my-model'));
 */
export function createTask(config: TaskConfig, tokenizer?: Tokenizer): Task {
  const { name, ...options } = config as { name?: unknown } & Record<string, unknown>;
  if (name === 'sentiment') return new SentimentTask(options, tokenizer);
  if (name === 'arithmetic') return new ArithmeticTask(options, tokenizer);
  if (name === 'random-tokens') {
    if (tokenizer) {
      throw new ConfigError([{ path: 'task.name', message: 'random-tokens writes ids of its own alphabet and cannot take another tokenizer; use sentiment or arithmetic' }]);
    }
    return new RandomTokensTask(options);
  }
  throw new ConfigError([{ path: 'task.name', message: `unknown task ${JSON.stringify(name)}; allowed: ${TASK_NAMES.join(', ')}` }]);
}
