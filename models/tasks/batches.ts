/**
 * From task strings to the padded id batches the model consumes, and from generated ids back to gold rewards, for
 * any `Tokenizer` (the character tokenizer, or a Hugging Face one: the tasks are text).
 *
 * Training sequences are `prompt completion EOS`, right-padded, where the prompt is encoded with the tokenizer's
 * special tokens (the character tokenizer's and Llama's BOS; nothing for GPT-2 and Qwen) and the completion without;
 * `completionMask` marks the tokens a loss should predict (the completion and its EOS). With logits for positions
 * 0..T-2 predicting ids 1..T-1, the SFT/DPO/RM target mask is `completionMask[:, 1:]`. Prompt and completion are
 * encoded apart, as a rollout has them (prompt ids, then the ids the model generated).
 */
import { padTokenRows, readCompletion } from '../../data/tokenizers/token-rows.ts';
import type { Tokenizer } from '../../data/tokenizers/tokenizer.ts';
import type { TokenBatch } from '../tokenizer.ts';
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

/** The ids of one `prompt completion EOS` sequence, and how many of them are the prompt's. */
function sequenceIds(tokenizer: Tokenizer, example: SftExample): { ids: number[]; promptLength: number } {
  const prompt = tokenizer.encode(example.prompt, { addSpecialTokens: true });
  return { ids: [...prompt, ...tokenizer.encode(example.completion, { addSpecialTokens: false }), tokenizer.eosTokenId], promptLength: prompt.length };
}

/**
 * Right-padded `BOS prompt completion EOS` rows with a completion mask.
 *
 * @example
 * const batch = sequenceBatch(task.tokenizer, cursor.next(64));   // ids (64, T), completionMask (64, T)
 */
export function sequenceBatch(tokenizer: Tokenizer, examples: readonly SftExample[], options: { length?: number } = {}): SequenceBatch {
  const sequences = examples.map((example) => sequenceIds(tokenizer, example));
  const padded = padTokenRows(
    sequences.map((sequence) => sequence.ids),
    'right',
    tokenizer.padTokenId,
    options.length,
  );
  const completionMask = new Int32Array(padded.ids.length);
  const promptLengths = new Int32Array(examples.length);
  sequences.forEach(({ promptLength }, row) => {
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
export function promptBatch(tokenizer: Tokenizer, prompts: readonly string[], options: { length?: number } = {}): TokenBatch {
  const rows = prompts.map((prompt) => tokenizer.encode(prompt, { addSpecialTokens: true }));
  return padTokenRows(rows, 'left', tokenizer.padTokenId, options.length);
}

/**
 * The chosen and rejected sequences of preference pairs, both padded to the longer of the two.
 *
 * @example
 * const batch = preferenceBatch(task.tokenizer, pairs);   // batch.chosen.ids and batch.rejected.ids are (B, T)
 */
export function preferenceBatch(tokenizer: Tokenizer, pairs: readonly Pick<PreferencePair, 'prompt' | 'chosen' | 'rejected'>[], options: { length?: number } = {}): PreferenceBatch {
  const chosenExamples = pairs.map((pair) => ({ prompt: pair.prompt, completion: pair.chosen }));
  const rejectedExamples = pairs.map((pair) => ({ prompt: pair.prompt, completion: pair.rejected }));
  const length =
    options.length ?? Math.max(0, ...[...chosenExamples, ...rejectedExamples].map((example) => sequenceIds(tokenizer, example).ids.length));
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
    const { text, finished } = readCompletion(task.tokenizer, ids);
    rewards[row] = task.goldReward(prompt, text, { finished });
  });
  return rewards;
}
