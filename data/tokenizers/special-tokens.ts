/**
 * The special tokens of a Hugging Face tokenizer folder, resolved as transformers resolves them:
 * `tokenizer_config.json`'s `bos_token`, `eos_token`, ... (a string, or an AddedToken object with `content`),
 * overridden by `special_tokens_map.json` where that file names the same key, and the tokenizer class's own
 * defaults where neither names a token (GPT-2: `<|endoftext|>` as bos, eos and unk; its hub folder's
 * `tokenizer_config.json` names none).
 */

/** transformers' `special_tokens_map`: the named special tokens that are set, as strings. */
export interface SpecialTokensMap {
  bos_token?: string;
  eos_token?: string;
  unk_token?: string;
  sep_token?: string;
  pad_token?: string;
  cls_token?: string;
  mask_token?: string;
  additional_special_tokens?: string[];
}

/** The keys of `SpecialTokensMap` holding one token, in transformers' order (`SPECIAL_TOKENS_ATTRIBUTES`). */
export const SINGLE_SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

/** GPT-2's class defaults (`GPT2Tokenizer.__init__`), used when the files name no special token at all. */
const GPT2_END_OF_TEXT = '<|endoftext|>';

/** The text of a special-token value: a string, or an AddedToken written as `{ content, ... }`; undefined for null. */
export function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/**
 * The special tokens of a folder from its parsed `tokenizer_config.json` and `special_tokens_map.json` (either may
 * be `{}`). `hasToken` says whether a string is in the vocabulary; the GPT-2 defaults apply only when the config
 * names no special token, its class is GPT-2's or unknown, and `<|endoftext|>` is a token.
 *
 * @example
 * resolveSpecialTokens({ eos_token: '<|im_end|>', pad_token: '<|endoftext|>' }, {}, (token) => true);
 * // { eos_token: '<|im_end|>', pad_token: '<|endoftext|>' }
 */
export function resolveSpecialTokens(
  tokenizerConfig: Record<string, unknown>,
  specialTokensMap: Record<string, unknown>,
  hasToken: (token: string) => boolean,
): SpecialTokensMap {
  const merged: Record<string, unknown> = { ...tokenizerConfig };
  for (const [key, value] of Object.entries(specialTokensMap)) merged[key] = value;
  const resolved: SpecialTokensMap = {};
  for (const key of SINGLE_SPECIAL_TOKEN_KEYS) {
    const content = tokenContent(merged[key]);
    if (content !== undefined) resolved[key] = content;
  }
  const additional = merged.additional_special_tokens;
  if (Array.isArray(additional) && additional.length > 0) {
    resolved.additional_special_tokens = additional.map(tokenContent).filter((token): token is string => token !== undefined);
  }
  const className = typeof tokenizerConfig.tokenizer_class === 'string' ? tokenizerConfig.tokenizer_class : undefined;
  const namesNone = SINGLE_SPECIAL_TOKEN_KEYS.every((key) => !(key in merged));
  if (namesNone && (className === undefined || className.startsWith('GPT2Tokenizer')) && hasToken(GPT2_END_OF_TEXT)) {
    return { bos_token: GPT2_END_OF_TEXT, eos_token: GPT2_END_OF_TEXT, unk_token: GPT2_END_OF_TEXT, ...resolved };
  }
  return resolved;
}
