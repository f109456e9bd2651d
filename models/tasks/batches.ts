/**
 * From task strings to the padded id batches the model consumes, and from generated ids back to gold rewards.
 *
 * Training sequences are `BOS prompt completion EOS`, right-padded; `completionMask` marks the tokens a loss should
 * predict (the completion and its EOS). With logits for positions 0..T-2 predicting ids 1..T-1, the SFT/DPO/RM
 * target mask is `completionMask[:, 1:]`.
 */
import type { CharTokenizer, TokenBatch } from '../tokenizer.ts';
import type { PreferencePair, SftExample, Task } from './task.ts';

/** A right-padded batch of prompt + completion sequences. */
export interface SequenceBatch extends TokenBatch {
  /** (B, T) 1 on completion tokens and the EOS after them, 0 on BOS, prompt and padding. */
  completionMask: Int32Array;
  /** (B) number of prompt tokens (BOS included) in each row: the completion starts at this position. */
  promptLengths: Int32Array;
}

/** Chosen and rejected sequences of the same pairs, padded to the same length so they can be stacked (2B, T). */
export interface PreferenceBatch {
  chosen: SequenceBatch;
  rejected: SequenceBatch;
}

/**
 * Right-padded `BOS prompt completion EOS` rows with a completion mask.
 *
 * @example
 * const batch = sequenceBatch(task.tokenizer, cursor.next(64));   // ids (64, T), completionMask (64, T)
 */
export function sequenceBatch(tokenizer: CharTokenizer, examples: readonly SftExample[], options: { length?: number } = {}): SequenceBatch {
  const rows = examples.map((example) => [
    ...tokenizer.encode(example.prompt, { bos: true }),
    ...tokenizer.encode(example.completion, { eos: true }),
  ]);
  const padded = tokenizer.padRows(rows, 'right', options.length);
  const completionMask = new Int32Array(padded.ids.length);
  const promptLengths = new Int32Array(examples.length);
  examples.forEach((example, row) => {
    const promptLength = 1 + Array.from(example.prompt).length;
    promptLengths[row] = promptLength;
    completionMask.fill(1, row * padded.length + promptLength, row * padded.length + padded.lengths[row]!);
  });
  return { ...padded, completionMask, promptLengths };
}

/**
 * Left-padded `BOS prompt` rows for generation (every row's last prompt token is in the last column).
 *
 * @example
 * const prompts = promptBatch(task.tokenizer, task.evalPrompts(64), { length: task.limits.promptTokens });
 */
export function promptBatch(tokenizer: CharTokenizer, prompts: readonly string[], options: { length?: number } = {}): TokenBatch {
  return tokenizer.encodeLeftPadded(prompts, options);
}

/**
 * The chosen and rejected sequences of preference pairs, both padded to the longer of the two.
 *
 * @example
 * const batch = preferenceBatch(task.tokenizer, pairs);   // batch.chosen.ids and batch.rejected.ids are (B, T)
 */
export function preferenceBatch(tokenizer: CharTokenizer, pairs: readonly PreferencePair[], options: { length?: number } = {}): PreferenceBatch {
  const chosenExamples = pairs.map((pair) => ({ prompt: pair.prompt, completion: pair.chosen }));
  const rejectedExamples = pairs.map((pair) => ({ prompt: pair.prompt, completion: pair.rejected }));
  const length =
    options.length ??
    Math.max(0, ...[...chosenExamples, ...rejectedExamples].map((example) => 2 + Array.from(example.prompt + example.completion).length));
  return { chosen: sequenceBatch(tokenizer, chosenExamples, { length }), rejected: sequenceBatch(tokenizer, rejectedExamples, { length }) };
}

/**
 * Gold rewards of generated completions: row b of `completionIds` (B, completionLength) is read up to its first EOS;
 * a row without EOS is scored as unfinished, and a PAD or BOS before EOS makes the text unparseable (scored as such).
 *
 * @example
 * const rewards = goldRewardsOfTokens(task, prompts, generated.completionIds, 32);   // Float32Array (B)
 */
export function goldRewardsOfTokens(task: Task, prompts: readonly string[], completionIds: Int32Array, completionLength: number): Float32Array {
  if (completionIds.length !== prompts.length * completionLength) {
    throw new RangeError(
      `goldRewardsOfTokens: completionIds has ${completionIds.length} ids, expected ${prompts.length} prompts x ${completionLength}`,
    );
  }
  const rewards = new Float32Array(prompts.length);
  prompts.forEach((prompt, row) => {
    const ids = completionIds.subarray(row * completionLength, (row + 1) * completionLength);
    const { text, finished } = task.tokenizer.readCompletion(ids);
    rewards[row] = task.goldReward(prompt, text, { finished });
  });
  return rewards;
}
