/**
 * A Hugging Face tokenizer folder, run by `@huggingface/tokenizers` (the pure-JS tokenizer of transformers.js 4).
 *
 * Why this library (figures: `npm run bench -- tokenizers`): every candidate (it, the Rust `tokenizers` binding,
 * `@lenml/tokenizers`, transformers.js) gives transformers' ids and decodes on every GPT-2 and Qwen3 fixture case.
 * The Rust binding encodes long text 2-2.5x faster, but only asynchronously (a Promise per call, which makes it no
 * faster on short prompts on a loaded machine) and ships every platform's binary (64 MB); transformers.js runs this
 * same library under 475 MB of onnxruntime and sharp; `@lenml/tokenizers` is a one-person fork of transformers.js 3.
 * This one is Hugging Face's own, maintained, synchronous (so it serves the same `Tokenizer` interface as the
 * character tokenizer), dependency-free and 1 MB.
 *
 * Files read, as transformers reads them: `tokenizer.json` (or GPT-2's `vocab.json` + `merges.txt` when there is
 * none, see `vocab-merges.ts`), `tokenizer_config.json` (special tokens, `chat_template`,
 * `clean_up_tokenization_spaces`), `special_tokens_map.json` (overrides the config's special tokens) and
 * `chat_template.jinja` (overrides the config's template). Defaults follow transformers 4.47+: `encode` adds the
 * post-processor's special tokens, `decode` keeps special tokens and does not clean up spaces.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as LibraryTokenizer } from '@huggingface/tokenizers';
import { PosttrainError } from '../../runtime/errors.ts';
import { FolderCache } from '../../runtime/folder-cache.ts';
import { ChatTemplate, type ChatMessage, type ChatTemplateOptions, type ChatTemplateSource } from './chat-template.ts';
import { resolveSpecialTokens, SINGLE_SPECIAL_TOKEN_KEYS, type SpecialTokensMap } from './special-tokens.ts';
import type { Tokenizer, TokenizerDecodeOptions, TokenizerEncodeOptions } from './tokenizer.ts';
import { tokenizerJsonFromVocabMerges, type TokenizerJsonFile } from './vocab-merges.ts';

/** Raised for a tokenizer folder that cannot be read, and for ids a tokenizer cannot decode. */
export class HfTokenizerError extends PosttrainError {}

/** What `loadTokenizer` read from a folder. */
interface TokenizerFolder {
  directory: string;
  json: TokenizerJsonFile;
  /** The file the vocabulary came from (`tokenizer.json`, or `vocab.json` for the two-file layout). */
  jsonFile: string;
  config: Record<string, unknown>;
  specialTokens: SpecialTokensMap;
  /** Named templates; a single template is named `default`. */
  chatTemplates: Map<string, ChatTemplateSource>;
}

/**
 * A Hugging Face tokenizer with transformers' `encode`, `decode` and `apply_chat_template`.
 *
 * @example
 * const tokenizer = await loadTokenizer('./Qwen3-0.6B');
 * tokenizer.encode('Hello world');                               // [9707, 1879]
 * tokenizer.decode([9707, 1879, 151645], { skipSpecialTokens: true });   // 'Hello world'
 * tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true, enable_thinking: false });
 */
export class HfTokenizer implements Tokenizer {
  /** Number of distinct tokens, added tokens included (transformers' `len(tokenizer)`). */
  readonly vocabSize: number;
  /** Id of `eos_token`. */
  readonly eosTokenId: number;
  /** Id of `pad_token`, or `eosTokenId` when there is none (what `generate()` pads with). */
  readonly padTokenId: number;
  /** Id of `bos_token`, undefined when there is none (Qwen). */
  readonly bosTokenId: number | undefined;
  /** transformers' `special_tokens_map`: the named special tokens that are set. */
  readonly specialTokens: SpecialTokensMap;
  /** The folder this tokenizer was loaded from. */
  readonly directory: string;
  private readonly library: LibraryTokenizer;
  private readonly chatTemplates: Map<string, ChatTemplateSource>;
  private readonly parsedTemplates = new Map<string, ChatTemplate>();

  /** Use `loadTokenizer(directory)`. */
  constructor(folder: TokenizerFolder) {
    this.directory = folder.directory;
    this.specialTokens = folder.specialTokens;
    this.chatTemplates = folder.chatTemplates;
    const libraryConfig = {
      ...folder.config,
      ...folder.specialTokens,
      // transformers >= 4.45 defaults to false; the library's own default is true.
      clean_up_tokenization_spaces: folder.config.clean_up_tokenization_spaces ?? false,
    };
    try {
      this.library = new LibraryTokenizer(folder.json, libraryConfig);
    } catch (error) {
      throw new HfTokenizerError('TOKENIZER_FILE_INVALID', `${folder.jsonFile} is not a tokenizer this library can run: ${(error as Error).message}`, {
        path: folder.jsonFile,
        cause: error,
      });
    }
    this.vocabSize = new Set(this.library.get_vocab(true).values()).size;
    const idOf = (key: (typeof SINGLE_SPECIAL_TOKEN_KEYS)[number]): number | undefined => {
      const token = folder.specialTokens[key];
      if (token === undefined) return undefined;
      const id = this.library.token_to_id(token);
      if (id === undefined) {
        throw new HfTokenizerError('TOKENIZER_FILE_INVALID', `${key} ${JSON.stringify(token)} is not a token of ${folder.jsonFile}`, {
          path: join(folder.directory, 'tokenizer_config.json'),
        });
      }
      return id;
    };
    const eos = idOf('eos_token');
    if (eos === undefined) {
      throw new HfTokenizerError(
        'TOKENIZER_NO_EOS',
        `${folder.directory} names no eos_token (tokenizer_config.json or special_tokens_map.json); a causal LM needs one to end completions`,
        { path: join(folder.directory, 'tokenizer_config.json') },
      );
    }
    this.eosTokenId = eos;
    this.padTokenId = idOf('pad_token') ?? eos;
    this.bosTokenId = idOf('bos_token');
  }

  /** Ids of `text`; `addSpecialTokens` (default true, as transformers) runs the post-processor (Llama's BOS). */
  encode(text: string, options: TokenizerEncodeOptions = {}): number[] {
    return this.library.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** Text of `ids`; `skipSpecialTokens` (default false) leaves out special tokens (not merely added ones). */
  decode(ids: ArrayLike<number>, options: TokenizerDecodeOptions = {}): string {
    const list = Array.from(ids);
    list.forEach((id, index) => {
      if (!Number.isInteger(id) || this.library.id_to_token(id) === undefined) {
        throw new HfTokenizerError('TOKENIZER_UNKNOWN_ID', `id ${id} at index ${index} is not a token of ${this.directory}`, {
          path: `ids[${index}]`,
        });
      }
    });
    if (list.length === 0) return '';
    return this.library.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** Whether the folder has a chat template. */
  get hasChatTemplate(): boolean {
    return this.chatTemplates.size > 0;
  }

  /**
   * `messages` rendered by the folder's chat template, as transformers' `apply_chat_template` renders them; ids
   * instead of text with `tokenize: true`.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions & { tokenize?: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions & { tokenize: true }): number[];
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string | number[] {
    const text = this.chatTemplate(options.chatTemplateName).render(messages, options);
    return options.tokenize ? this.encode(text, { addSpecialTokens: false }) : text;
  }

  private chatTemplate(name = 'default'): ChatTemplate {
    const cached = this.parsedTemplates.get(name);
    if (cached) return cached;
    const source = this.chatTemplates.get(name);
    if (!source) {
      const names = [...this.chatTemplates.keys()];
      throw new HfTokenizerError(
        'CHAT_TEMPLATE_NOT_FOUND',
        names.length === 0
          ? `${this.directory} has no chat template (tokenizer_config.json "chat_template" or chat_template.jinja)`
          : `${this.directory} has no chat template named ${JSON.stringify(name)}; it has: ${names.join(', ')}`,
        { path: join(this.directory, 'tokenizer_config.json') },
      );
    }
    const template = new ChatTemplate(source, this.specialTokens);
    this.parsedTemplates.set(name, template);
    return template;
  }
}

/**
 * Loads the tokenizer of a Hugging Face folder (a model folder or a tokenizer-only one).
 *
 * @example
 * const tokenizer = await loadTokenizer('./my-model');
 * const ids = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true });
 */
export async function loadTokenizer(directory: string): Promise<HfTokenizer> {
  return readTokenizerFolder(directory);
}

/** The files a tokenizer is read from (their sizes and times key the cache). */
const TOKENIZER_SOURCES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'chat_template.jinja'];

const loaded = new FolderCache<HfTokenizer>({ files: () => TOKENIZER_SOURCES });

/**
 * `loadTokenizer` without the promise, cached per folder while its files are unchanged: config parsing and role
 * constructors are synchronous and count a task's limits in the model's tokens, several times per run.
 */
export function loadTokenizerSync(directory: string): HfTokenizer {
  return loaded.get(directory, readTokenizerFolder);
}

function readTokenizerFolder(directory: string): HfTokenizer {
  let isDirectory = false;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new HfTokenizerError('TOKENIZER_NOT_FOUND', `${directory} is not a directory; expected a folder with tokenizer.json`, { path: directory });
  }
  const config = (readJsonObject(join(directory, 'tokenizer_config.json'))) ?? {};
  const specialTokensMap = (readJsonObject(join(directory, 'special_tokens_map.json'))) ?? {};
  const tokenizerJsonPath = join(directory, 'tokenizer.json');
  let json = (readJsonObject(tokenizerJsonPath)) as TokenizerJsonFile | undefined;
  let jsonFile = tokenizerJsonPath;
  let specialTokens: SpecialTokensMap;
  if (json) {
    const added = new Set((Array.isArray(json.added_tokens) ? json.added_tokens : []).map((token) => token.content));
    const vocab = (json.model?.vocab ?? {}) as Record<string, unknown>;
    specialTokens = resolveSpecialTokens(config, specialTokensMap, (token) => added.has(token) || Object.hasOwn(vocab, token));
  } else {
    const vocabPath = join(directory, 'vocab.json');
    const mergesPath = join(directory, 'merges.txt');
    const vocab = (readJsonObject(vocabPath)) as Record<string, number> | undefined;
    const merges = readOptional(mergesPath);
    if (!vocab || merges === undefined) {
      const missing = vocab ? 'merges.txt' : merges === undefined ? 'vocab.json and merges.txt' : 'vocab.json';
      throw new HfTokenizerError(
        'TOKENIZER_FILES_MISSING',
        `${directory} has no tokenizer.json, and ${missing} of the older two-file layout ${missing.includes(' and ') ? 'are' : 'is'} missing too`,
        { path: tokenizerJsonPath },
      );
    }
    specialTokens = resolveSpecialTokens(config, specialTokensMap, (token) => Object.hasOwn(vocab, token));
    const specialStrings = [...SINGLE_SPECIAL_TOKEN_KEYS.map((key) => specialTokens[key]), ...(specialTokens.additional_special_tokens ?? [])];
    const present = specialStrings.filter((token): token is string => token !== undefined && Object.hasOwn(vocab, token));
    json = tokenizerJsonFromVocabMerges(vocab, merges, present);
    jsonFile = vocabPath;
  }
  return new HfTokenizer({ directory, json, jsonFile, config, specialTokens, chatTemplates: chatTemplates(directory, config) });
}

/** `chat_template.jinja` if present (it wins, as in transformers), else `tokenizer_config.json`'s `chat_template`. */
function chatTemplates(directory: string, config: Record<string, unknown>): Map<string, ChatTemplateSource> {
  const templates = new Map<string, ChatTemplateSource>();
  const jinjaPath = join(directory, 'chat_template.jinja');
  const jinja = readOptional(jinjaPath);
  if (jinja !== undefined) return templates.set('default', { text: jinja, file: jinjaPath });
  const configPath = join(directory, 'tokenizer_config.json');
  const value = config.chat_template;
  if (typeof value === 'string') {
    templates.set('default', { text: value, file: `${configPath} (chat_template)` });
  } else if (Array.isArray(value)) {
    value.forEach((entry: { name?: unknown; template?: unknown }, index) => {
      if (typeof entry?.name !== 'string' || typeof entry.template !== 'string') {
        throw new HfTokenizerError('TOKENIZER_FILE_INVALID', `${configPath}: chat_template[${index}] must be { name: string, template: string }`, {
          path: configPath,
        });
      }
      templates.set(entry.name, { text: entry.template, file: `${configPath} (chat_template "${entry.name}")` });
    });
  } else if (value !== undefined && value !== null) {
    throw new HfTokenizerError('TOKENIZER_FILE_INVALID', `${configPath}: chat_template must be a string or a list of { name, template }`, {
      path: configPath,
    });
  }
  return templates;
}

/** A JSON object file, undefined when the file does not exist; an error naming the file when it is not a JSON object. */
/** A file's text, or undefined when it cannot be read. */
function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readJsonObject(path: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HfTokenizerError('TOKENIZER_FILE_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`, { path, cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HfTokenizerError('TOKENIZER_FILE_INVALID', `${path} is not valid JSON: ${(error as Error).message}`, { path, cause: error });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new HfTokenizerError('TOKENIZER_FILE_INVALID', `${path} must hold a JSON object`, { path });
  }
  return value as Record<string, unknown>;
}
