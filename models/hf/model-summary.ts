/**
 * What a Hugging Face model folder holds, read from config.json, the safetensors headers (no tensor bytes) and
 * the tokenizer files: enough for `recipe model inspect` to answer "what is this model" without building it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readHfConfig, readJsonFile, TOKENIZER_FILES } from './hf-folder.ts';
import { INDEX_FILE, readSafetensorsHeader, SINGLE_FILE } from './safetensors.ts';
import { PosttrainError } from '../../runtime/errors.ts';

/** A model folder at a glance. Sizes are undefined where the config does not give them. */
export interface ModelSummary {
  /** config.architectures[0], e.g. `Qwen2ForCausalLM`. */
  architecture: string | undefined;
  /** config.model_type, e.g. `qwen2`. */
  modelType: string | undefined;
  /** Stored parameters (tied weights once, as transformers' `num_parameters()` counts them). */
  parameters: number;
  /** safetensors dtype -> number of tensors stored in it. */
  dtypes: Record<string, number>;
  /** Weight files: `model.safetensors`, or the index and its shards. */
  weightFiles: string[];
  /** config.vocab_size. */
  vocabSize: number | undefined;
  /** num_hidden_layers (GPT-2: n_layer). */
  layers: number | undefined;
  /** hidden_size (GPT-2: n_embd). */
  hiddenSize: number | undefined;
  /** num_attention_heads (GPT-2: n_head). */
  attentionHeads: number | undefined;
  /** num_key_value_heads (grouped-query attention); the query head count when the config has none. */
  keyValueHeads: number | undefined;
  /** head_dim, else hidden / heads. */
  headDim: number | undefined;
  /** The longest sequence it was built for: max_position_embeddings (GPT-2: n_positions). */
  contextLength: number | undefined;
  /** Whether the output projection is the input embedding (no `lm_head.weight` stored). */
  tiedEmbeddings: boolean;
  /** Which tokenizer files the folder has. */
  tokenizerFiles: string[];
  /** Where a chat template was found (`tokenizer_config.json`, `chat_template.jinja`), or undefined. */
  chatTemplate: string | undefined;
}

/**
 * Summarises a model folder from its config and safetensors headers.
 *
 * @example
 * summarizeHfFolder('../shared/fixtures/hf/qwen3').architecture; // 'Qwen3ForCausalLM'
 */
export function summarizeHfFolder(dir: string): ModelSummary {
  const config = readHfConfig(dir);
  const weightFiles = weightFilesOf(dir);
  const dtypes: Record<string, number> = {};
  let parameters = 0;
  for (const file of weightFiles.filter((name) => name.endsWith('.safetensors'))) {
    if (!existsSync(join(dir, file))) {
      throw new PosttrainError('MODEL_WEIGHTS_MISSING', `${join(dir, file)} does not exist (listed by ${INDEX_FILE})`, { path: join(dir, file) });
    }
    for (const { dtype, shape } of Object.values(readSafetensorsHeader(join(dir, file)).tensors)) {
      dtypes[dtype] = (dtypes[dtype] ?? 0) + 1;
      parameters += shape.reduce((product, size) => product * size, 1);
    }
  }
  const number = (...keys: string[]) => keys.map((key) => config[key]).find((value): value is number => typeof value === 'number');
  const hiddenSize = number('hidden_size', 'n_embd', 'd_model');
  const attentionHeads = number('num_attention_heads', 'n_head');
  const tokenizerFiles = TOKENIZER_FILES.filter((file) => existsSync(join(dir, file)));
  return {
    architecture: Array.isArray(config.architectures) ? String(config.architectures[0]) : undefined,
    modelType: typeof config.model_type === 'string' ? config.model_type : undefined,
    parameters,
    dtypes,
    weightFiles,
    vocabSize: number('vocab_size'),
    layers: number('num_hidden_layers', 'n_layer'),
    hiddenSize,
    attentionHeads,
    keyValueHeads: number('num_key_value_heads') ?? attentionHeads,
    headDim: number('head_dim') ?? (hiddenSize !== undefined && attentionHeads ? hiddenSize / attentionHeads : undefined),
    contextLength: number('max_position_embeddings', 'n_positions'),
    // transformers' default is tied (PretrainedConfig.tie_word_embeddings = True)
    tiedEmbeddings: config.tie_word_embeddings !== false,
    tokenizerFiles,
    chatTemplate: chatTemplateSource(dir, tokenizerFiles),
  };
}

function weightFilesOf(dir: string): string[] {
  if (existsSync(join(dir, SINGLE_FILE))) return [SINGLE_FILE];
  if (!existsSync(join(dir, INDEX_FILE))) {
    throw new PosttrainError('MODEL_WEIGHTS_MISSING', `${dir} has neither ${SINGLE_FILE} nor ${INDEX_FILE}`, { path: dir });
  }
  const index = readJsonFile(join(dir, INDEX_FILE)) as { weight_map?: Record<string, string> };
  if (!index.weight_map || typeof index.weight_map !== 'object') {
    throw new PosttrainError('MODEL_WEIGHTS_INVALID', `${join(dir, INDEX_FILE)} has no "weight_map" object`, { path: join(dir, INDEX_FILE) });
  }
  return [INDEX_FILE, ...[...new Set(Object.values(index.weight_map))].sort()];
}

function chatTemplateSource(dir: string, tokenizerFiles: string[]): string | undefined {
  if (tokenizerFiles.includes('chat_template.jinja')) return 'chat_template.jinja';
  if (tokenizerFiles.includes('chat_template.json')) return 'chat_template.json';
  if (!tokenizerFiles.includes('tokenizer_config.json')) return undefined;
  const tokenizerConfig = readJsonFile(join(dir, 'tokenizer_config.json')) as { chat_template?: unknown };
  return tokenizerConfig.chat_template ? 'tokenizer_config.json' : undefined;
}
