/**
 * Tokenizers: the shared `Tokenizer` interface, Hugging Face tokenizer folders (`loadTokenizer`) and their chat
 * templates. The character tokenizer of the bench-S tasks is `models/tokenizer.ts`; it satisfies the same interface.
 *
 * @example
 * import { loadTokenizer } from './data/tokenizers/index.ts';
 * const tokenizer = await loadTokenizer('./my-model');
 * tokenizer.decode(tokenizer.encode('Hello'));   // 'Hello'
 */
export type { Tokenizer, TokenizerDecodeOptions, TokenizerEncodeOptions } from './tokenizer.ts';
export { HfTokenizer, HfTokenizerError, loadTokenizer } from './hf-tokenizer.ts';
export { ChatTemplate, type ChatMessage, type ChatTemplateOptions, type ChatTemplateSource } from './chat-template.ts';
export { resolveSpecialTokens, type SpecialTokensMap } from './special-tokens.ts';
export { tokenizerJsonFromVocabMerges, type AddedTokenJson, type TokenizerJsonFile } from './vocab-merges.ts';
export { packageDirectory } from './package-directory.ts';
