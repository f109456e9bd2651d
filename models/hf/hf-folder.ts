/**
 * A Hugging Face model folder, written the way transformers' `save_pretrained` writes it and read back:
 *
 *   config.json                      json.dumps(indent=2, sort_keys=True) + "\n", `torch_dtype` = stored dtype
 *   model.safetensors                tensors sorted by name, metadata {"format": "pt"}
 *     or model-0000k-of-0000n.safetensors + model.safetensors.index.json (over maxShardBytes; see shard-plan.ts)
 *   generation_config.json           for models that generate: given, or derived from config's token ids
 *   tokenizer.json, tokenizer_config.json, ...   copied unchanged from `tokenizerFrom`
 *
 * What goes into `config` (which keys, which defaults are left out) is the caller's: the architecture that owns
 * the config knows it. This file owns only the bytes. Tests compare every fixture's files with what this writes.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { PosttrainError } from '../../runtime/errors.ts';
import { pythonJson } from './python-json.ts';
import { INDEX_FILE, readSafetensorsFolder, writeSafetensorsFile, type LoadedTensor, type SafetensorsDtype } from './safetensors.ts';
import { planShards } from './shard-plan.ts';

/** The dtypes a folder can be stored in, as `torch_dtype` names them. */
export type HfDtype = 'float32' | 'bfloat16' | 'float16';

/** `torch_dtype` name -> safetensors header name. */
export const SAFETENSORS_DTYPE: Record<HfDtype, SafetensorsDtype> = { float32: 'F32', bfloat16: 'BF16', float16: 'F16' };

/** Tokenizer files copied from `tokenizerFrom` when present (transformers' tokenizer `save_pretrained` set). */
export const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'added_tokens.json',
  'chat_template.jinja', 'chat_template.json', 'tokenizer.model',
] as const;

/** transformers' default `max_shard_size` ("5GB", decimal). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

/** What `writeHfFolder` writes. */
export interface WriteHfFolderOptions {
  /** config.json's content; `torch_dtype` is set to `dtype`, `transformers_version` is kept as given. */
  config: Record<string, unknown>;
  /** Name -> row-major float32 values, in state-dict order (sharding follows it; each file sorts by name). */
  tensors: [string, { shape: number[]; data: Float32Array }][];
  /** How tensors are stored (default float32; bfloat16 rounds to nearest even as torch does). */
  dtype?: HfDtype;
  /** generation_config.json's content; default: derived from config's token ids for models that generate. */
  generationConfig?: Record<string, unknown>;
  /** A folder whose tokenizer files (TOKENIZER_FILES) are copied. */
  tokenizerFrom?: string;
  /** Shard when the checkpoint is larger than this many bytes (default 5 GB, as transformers). */
  maxShardBytes?: number;
}

/**
 * Writes a Hugging Face model folder that transformers' `from_pretrained` loads unchanged.
 *
 * @example
 * writeHfFolder('out/my-model', {
 *   config: { architectures: ['LlamaForCausalLM'], model_type: 'llama', bos_token_id: 1, eos_token_id: 2 },
 *   tensors: [['model.embed_tokens.weight', { shape: [320, 56], data: embedding }]],
 *   dtype: 'bfloat16',
 *   tokenizerFrom: 'models/base',
 * });
 */
export function writeHfFolder(dir: string, options: WriteHfFolderOptions): void {
  const dtype = options.dtype ?? 'float32';
  if (!(dtype in SAFETENSORS_DTYPE)) {
    throw new PosttrainError('MODEL_DTYPE_INVALID', `dtype ${JSON.stringify(dtype)} is not one of float32, bfloat16, float16`, { path: 'dtype' });
  }
  const tokenizerFiles = options.tokenizerFrom === undefined ? [] : tokenizerFilesIn(options.tokenizerFrom, true);
  mkdirSync(dir, { recursive: true });

  const config: Record<string, unknown> = { ...options.config, torch_dtype: dtype };
  if ('dtype' in options.config) config.dtype = dtype; // transformers >= 4.56 names the field `dtype`
  writeFileSync(join(dir, 'config.json'), pythonJson(config));

  const generationConfig = options.generationConfig ?? derivedGenerationConfig(options.config);
  if (generationConfig !== undefined) {
    const withVersion = { transformers_version: options.config.transformers_version, ...generationConfig };
    writeFileSync(join(dir, 'generation_config.json'), pythonJson(withVersion));
  }

  writeWeights(dir, options.tensors, SAFETENSORS_DTYPE[dtype], options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);

  if (options.tokenizerFrom !== undefined && resolve(options.tokenizerFrom) !== resolve(dir)) {
    for (const file of tokenizerFiles) copyFileSync(join(options.tokenizerFrom, file), join(dir, file));
  }
}

function writeWeights(dir: string, tensors: WriteHfFolderOptions['tensors'], dtype: SafetensorsDtype, maxShardBytes: number): void {
  const bytesPerElement = dtype === 'F32' ? 4 : 2;
  const byName = new Map(tensors);
  if (byName.size !== tensors.length) {
    const seen = new Set<string>();
    const duplicate = tensors.find(([name]) => seen.size === seen.add(name).size)![0];
    throw new PosttrainError('MODEL_WEIGHTS_INVALID', `tensor ${duplicate} is given twice`, { path: duplicate });
  }
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((product, size) => product * size, 1);
    if (count !== tensor.data.length) {
      throw new PosttrainError('MODEL_WEIGHTS_INVALID', `tensor ${name} has shape [${tensor.shape}] (${count} values) but ${tensor.data.length} values`, { path: name });
    }
  }
  const plan = planShards(tensors.map(([name, tensor]) => [name, tensor.data.length * bytesPerElement]), maxShardBytes);
  // Files of an earlier save that this one does not rewrite would be read as part of the model: remove them.
  for (const file of existsSync(dir) ? readdirSync(dir) : []) {
    if ((/^model.*\.safetensors$/.test(file) || file === INDEX_FILE) && !plan.files.has(file)) rmSync(join(dir, file));
  }
  for (const [file, names] of plan.files) {
    writeSafetensorsFile(join(dir, file), [...names].sort().map((name) => [name, byName.get(name)!]), dtype, { format: 'pt' });
  }
  if (plan.files.size > 1) {
    writeFileSync(join(dir, INDEX_FILE), pythonJson({ metadata: { total_size: plan.totalSize }, weight_map: plan.weightMap }));
  }
}

/**
 * transformers' `GenerationConfig.from_model_config` as `save_pretrained` writes it (only what differs from
 * GenerationConfig's defaults): the token ids the config sets, marked `_from_model_config`. Undefined for
 * models that do not generate (sequence classification), which get no generation_config.json.
 *
 * @example
 * derivedGenerationConfig({ architectures: ['GPT2LMHeadModel'], bos_token_id: 295, eos_token_id: 295 });
 * // { _from_model_config: true, bos_token_id: 295, eos_token_id: 295 }
 */
export function derivedGenerationConfig(config: Record<string, unknown>): Record<string, unknown> | undefined {
  const architectures = Array.isArray(config.architectures) ? (config.architectures as string[]) : [];
  if (!architectures.some((name) => /(ForCausalLM|LMHeadModel|ForConditionalGeneration)$/.test(name))) return undefined;
  const derived: Record<string, unknown> = { _from_model_config: true };
  for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id', 'decoder_start_token_id']) {
    if (config[key] !== null && config[key] !== undefined) derived[key] = config[key];
  }
  return derived;
}

/** A folder read back: everything a loader needs. */
export interface HfFolder {
  /** config.json. */
  config: Record<string, unknown>;
  /** generation_config.json, when present. */
  generationConfig: Record<string, unknown> | undefined;
  /** Every tensor of model.safetensors or of the shards, widened to float32, with its stored dtype. */
  tensors: Map<string, LoadedTensor>;
  /** Which of TOKENIZER_FILES the folder has. */
  tokenizerFiles: string[];
}

/**
 * Reads a Hugging Face model folder. Errors name the file (and line, for bad JSON) and say what is expected.
 *
 * @example
 * const { config, tensors } = readHfFolder('../shared/fixtures/hf/qwen2');
 * config.architectures; // ['Qwen2ForCausalLM']
 */
export function readHfFolder(dir: string): HfFolder {
  const config = readHfConfig(dir);
  const generationPath = join(dir, 'generation_config.json');
  const generationConfig = existsSync(generationPath) ? readJsonFile(generationPath) : undefined;
  return { config, generationConfig, tensors: readSafetensorsFolder(dir), tokenizerFiles: tokenizerFilesIn(dir, false) };
}

/**
 * config.json of a model folder, checked to be a folder with a JSON object there.
 *
 * @example
 * readHfConfig('../shared/fixtures/hf/gpt2').model_type; // 'gpt2'
 */
export function readHfConfig(dir: string): Record<string, unknown> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new PosttrainError('MODEL_FOLDER_NOT_FOUND', `no model folder at ${dir}: give a Hugging Face model folder (config.json + model.safetensors) or hf:Org/Name`, { path: dir });
  }
  const path = join(dir, 'config.json');
  if (!existsSync(path)) {
    throw new PosttrainError('MODEL_CONFIG_NOT_FOUND', `${path} does not exist: a Hugging Face model folder has config.json next to its safetensors`, { path });
  }
  return readJsonFile(path);
}

/**
 * Parses a JSON file that must hold an object; a syntax error names the file, line and column.
 *
 * @example
 * readJsonFile('model/generation_config.json').eos_token_id;
 */
export function readJsonFile(path: string): Record<string, unknown> {
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse's message has no line on Node 20; jsonc-parser (strict options) locates the first error.
    const errors: ParseError[] = [];
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false });
    const first = errors[0];
    const where = first ? `:${lineAndColumn(text, first.offset)}` : '';
    const what = first ? printParseErrorCode(first.error) : (error as Error).message;
    throw new PosttrainError('MODEL_CONFIG_INVALID', `${path}${where} is not valid JSON (${what})`, { path });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PosttrainError('MODEL_CONFIG_INVALID', `${path} must hold a JSON object`, { path });
  }
  return value as Record<string, unknown>;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

/** Whether `dir` holds any tokenizer file (a model folder may come without one). */
export function hasTokenizerFiles(dir: string): boolean {
  return tokenizerFilesIn(dir, false).length > 0;
}

function tokenizerFilesIn(dir: string, required: boolean): string[] {
  if (required && (!existsSync(dir) || !statSync(dir).isDirectory())) {
    throw new PosttrainError('MODEL_FOLDER_NOT_FOUND', `tokenizerFrom: no folder at ${dir}`, { path: 'tokenizerFrom' });
  }
  const present = TOKENIZER_FILES.filter((file) => existsSync(join(dir, file)));
  if (required && present.length === 0) {
    throw new PosttrainError('MODEL_TOKENIZER_NOT_FOUND', `tokenizerFrom: ${dir} has none of ${TOKENIZER_FILES.join(', ')}`, { path: 'tokenizerFrom' });
  }
  return present;
}
