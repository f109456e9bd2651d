/**
 * A `tokenizer.json` for a folder that has only GPT-2's older pair of files, `vocab.json` + `merges.txt`.
 *
 * transformers does the same when it builds a fast tokenizer from a slow one: `GPT2Converter` in
 * `convert_slow_tokenizer.py` (https://github.com/huggingface/transformers/blob/v4.47.0/src/transformers/convert_slow_tokenizer.py)
 * makes a byte-level BPE with a ByteLevel pre-tokenizer (GPT-2's regex), a ByteLevel decoder and a ByteLevel
 * post-processor, and adds the special tokens of `tokenizer_config.json` (GPT-2's defaults: `<|endoftext|>` as
 * bos, eos and unk). No tokenizer library reads the two-file layout, so this small translation is written here.
 */

/** The `tokenizer.json` fields a byte-level BPE needs; other keys of the format are left at their defaults. */
export interface TokenizerJsonFile {
  /** Format version, "1.0". */
  version: string;
  /** Tokens matched whole before the model runs, with their ids and whether they are special. */
  added_tokens: AddedTokenJson[];
  /** Text normalisation; null for GPT-2. */
  normalizer: unknown;
  /** How text is split before BPE. */
  pre_tokenizer: unknown;
  /** What is added around the ids (nothing for GPT-2). */
  post_processor: unknown;
  /** How ids go back to text. */
  decoder: unknown;
  /** The BPE model: vocabulary and merges. */
  model: { type: string; vocab: Record<string, number>; merges: string[] | [string, string][]; [key: string]: unknown };
  [key: string]: unknown;
}

/** One entry of `tokenizer.json`'s `added_tokens`. */
export interface AddedTokenJson {
  /** Token id. */
  id: number;
  /** The exact text of the token. */
  content: string;
  /** Only match as a whole word. */
  single_word: boolean;
  /** Swallow whitespace on the left. */
  lstrip: boolean;
  /** Swallow whitespace on the right. */
  rstrip: boolean;
  /** Match against normalised text. */
  normalized: boolean;
  /** Special: dropped by `decode(ids, { skipSpecialTokens: true })`. */
  special: boolean;
}

/**
 * Builds GPT-2's `tokenizer.json` from the text of `vocab.json` and `merges.txt`.
 *
 * @param vocab parsed `vocab.json`: token string -> id
 * @param mergesText `merges.txt`: an optional `#version` line, then one `left right` pair per line
 * @param specialTokens special token strings (deduplicated); each must be in `vocab`
 * @example
 * const json = tokenizerJsonFromVocabMerges(vocab, readFileSync('merges.txt', 'utf8'), ['<|endoftext|>']);
 */
export function tokenizerJsonFromVocabMerges(
  vocab: Record<string, number>,
  mergesText: string,
  specialTokens: readonly string[],
): TokenizerJsonFile {
  const merges = mergesText
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line, index) => line !== '' && !(index === 0 && line.startsWith('#version')));
  const added = [...new Set(specialTokens)].map((content) => ({
    id: vocab[content]!,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  }));
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: { type: 'ByteLevel', ...byteLevel, trim_offsets: false },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
