/**
 * The contract of a reward function a user writes (and of the built-ins): it scores a batch of completions and
 * may read any dataset column through the context. This is TRL's reward-function signature, in TypeScript.
 */

/** What a reward function knows about the batch besides the completions. Every array has one entry per completion. */
export interface RewardContext {
  /** (B) the prompt each completion answers, as the model saw it (rendered through the chat template). */
  prompts: string[];
  /** (B, T_b) the token ids the model generated for each completion (without padding). */
  completionIds: number[][];
  /** (B) every other dataset column by its name in the file, e.g. `answer` (a prompt-completion dataset's `completion` too). */
  [column: string]: unknown[];
}

/**
 * A reward function: one finite number per completion, higher is better.
 *
 * @example
 * export const accuracy: RewardFunction = (completions, { answer }) =>
 *   completions.map((completion, index) => (completion.includes(String(answer[index])) ? 1 : 0));
 */
export type RewardFunction = (completions: string[], context: RewardContext) => ArrayLike<number> | Promise<ArrayLike<number>>;
