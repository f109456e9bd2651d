/**
 * What tasks, batches and rollouts need of a tokenizer, whichever it is: the character tokenizer of the built-in
 * bench-S tasks (`models/tokenizer.ts`) or a Hugging Face `tokenizer.json` (`hf-tokenizer.ts`). Text goes in and
 * out as strings; everything else (padding, masks, where a completion ends) is built from these ids.
 */
import { PosttrainError } from '../../runtime/errors.ts';

/** Raised for text a tokenizer cannot encode, ids it cannot decode, or rows that do not fit. */
export class TokenizerError extends PosttrainError {}

/** Options of `Tokenizer.encode`. */
export interface TokenizerEncodeOptions {
  /**
   * Add what the tokenizer puts around one sequence (its post-processor): BOS for the character tokenizer and
   * Llama, nothing for GPT-2 and Qwen. Default: the implementation's own (Hugging Face: true, as transformers;
   * the character tokenizer: false, as before). Shared code passes it explicitly.
   */
  addSpecialTokens?: boolean;
}

/** Options of `Tokenizer.decode`. */
export interface TokenizerDecodeOptions {
  /** Leave special tokens out of the text (default false for Hugging Face; the character tokenizer always does). */
  skipSpecialTokens?: boolean;
}

/**
 * Text to ids and back, with the special ids generation and padding need.
 *
 * @example
 * function promptIds(tokenizer: Tokenizer, prompt: string): number[] {
 *   return tokenizer.encode(prompt, { addSpecialTokens: true });
 * }
 */
export interface Tokenizer {
  /** Number of ids, added tokens included: every id the tokenizer produces or reads is below it. */
  readonly vocabSize: number;
  /** The id that ends a completion: generation stops at it. */
  readonly eosTokenId: number;
  /** The id placed at padding positions (EOS when the tokenizer has no pad token, as `generate()` does). */
  readonly padTokenId: number;
  /** The id that opens a sequence, or undefined when the tokenizer has none (GPT-2 and Qwen add none). */
  readonly bosTokenId: number | undefined;
  /** Ids of `text`. */
  encode(text: string, options?: TokenizerEncodeOptions): number[];
  /** Text of `ids`. */
  decode(ids: ArrayLike<number>, options?: TokenizerDecodeOptions): string;
}
