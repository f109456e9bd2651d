/**
 * Maps a Hugging Face `config.json` to a DecoderSpec: the flags of the one decoder (models/hf/decoder.ts) that
 * computes GPT-2, Llama, Mistral, Qwen2 and Qwen3, with a language-model or a sequence-classification head.
 *
 * Field names and defaults are those of transformers 4.47 (`GPT2Config`, `LlamaConfig`, `Qwen2Config`,
 * `MistralConfig`) and 4.51 (`Qwen3Config`): a field the config omits takes the default its class has. Every
 * problem names the config.json field and what is allowed, and all of them are reported together.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../runtime/errors.ts';
import { ACTIVATIONS, type ActivationName } from '../ops/activation.ts';

/** RoPE frequencies (Su et al. 2021), with optional scaling of the inverse frequencies. */
export interface RopeSpec {
  /** Base of the inverse frequencies `theta^(-2i/d)` (`rope_theta`). */
  theta: number;
  /** `default`: none; `linear`: all divided by `factor`; `llama3`: the banded rule of Llama 3.1. */
  type: 'default' | 'linear' | 'llama3';
  /** `linear` and `llama3`: how much the low frequencies are divided by. */
  factor: number;
  /** `llama3`: wavelengths above `originalMaxPositions / lowFreqFactor` are divided by `factor`. */
  lowFreqFactor: number;
  /** `llama3`: wavelengths below `originalMaxPositions / highFreqFactor` are left alone; between: smoothed. */
  highFreqFactor: number;
  /** `llama3`: the context length the model was trained with before scaling. */
  originalMaxPositions: number;
}

/** Everything the decoder needs to know about one checkpoint's architecture. */
export interface DecoderSpec {
  /** The `architectures[0]` it came from, e.g. `Qwen2ForCausalLM` (written back on save). */
  architecture: string;
  /** Tensor naming and block layout: `gpt2` (transformer.h.N, fused c_attn) or `llama` (model.layers.N). */
  family: 'gpt2' | 'llama';
  /** `causal-lm`: logits over the vocabulary; `sequence-classification`: `score` at the last token. */
  task: 'causal-lm' | 'sequence-classification';
  /** V, rows of the token embedding. */
  vocabSize: number;
  /** D, width of the residual stream. */
  hiddenSize: number;
  /** Number of decoder blocks. */
  layers: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (grouped-query attention when fewer than `heads`; must divide it). */
  kvHeads: number;
  /** Width of one head (`head_dim`; `hidden_size / heads` where the config has none). */
  headDim: number;
  /** Hidden width of the MLP. */
  intermediateSize: number;
  /** Longest sequence: the learned position table's rows (GPT-2) or `max_position_embeddings`. */
  maxPositions: number;
  /** `layer-norm` (mean and variance, with bias) or `rms-norm` (no mean, no bias). */
  norm: 'layer-norm' | 'rms-norm';
  /** The norm's epsilon (`layer_norm_epsilon` / `rms_norm_eps`). */
  normEpsilon: number;
  /** Learned absolute positions (GPT-2) or rotary embeddings. */
  rope: RopeSpec | undefined;
  /** MLP activation, named as in transformers' ACT2FN. */
  activation: ActivationName;
  /** Biases on the query, key and value projections. */
  qkvBias: boolean;
  /** Bias on the attention output projection. */
  outputBias: boolean;
  /** Biases on the MLP projections. */
  mlpBias: boolean;
  /** Qwen3: RMSNorm over each head of q and k before RoPE. */
  qkNorm: boolean;
  /** The output projection is the token embedding (no `lm_head.weight` in the file). */
  tieWordEmbeddings: boolean;
  /** Sequence classification: rows of `score.weight`. */
  numLabels: number;
  /** The pad id, or undefined (GPT-2, Llama 3). Sequence classification pools by it (see decoder.ts). */
  padTokenId: number | undefined;
  /** End-of-sequence ids (generation stops a row at any of them). */
  eosTokenIds: number[];
  /** The parsed config.json itself, written back unchanged on save. */
  raw: Record<string, unknown>;
}

/** The architectures posttrain computes, by `architectures[0]`. */
export const SUPPORTED_ARCHITECTURES = [
  'GPT2LMHeadModel',
  'GPT2ForSequenceClassification',
  'LlamaForCausalLM',
  'LlamaForSequenceClassification',
  'MistralForCausalLM',
  'MistralForSequenceClassification',
  'Qwen2ForCausalLM',
  'Qwen2ForSequenceClassification',
  'Qwen3ForCausalLM',
  'Qwen3ForSequenceClassification',
] as const;


/**
 * Reads a parsed config.json; `source` names the file in error messages.
 *
 * @example
 * const spec = parseHfConfig(JSON.parse(readFileSync('qwen2/config.json', 'utf8')), 'qwen2/config.json');
 * spec.kvHeads; // 2
 */
export function parseHfConfig(raw: Record<string, unknown>, source = 'config.json'): DecoderSpec {
  const issues: { path: string; message: string }[] = [];
  const problem = (field: string, message: string) => issues.push({ path: `${source}:${field}`, message });
  const architectures = raw.architectures;
  const architecture = Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : undefined;
  if (!architecture || !(SUPPORTED_ARCHITECTURES as readonly string[]).includes(architecture)) {
    problem('architectures', `is ${JSON.stringify(architectures)}; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
    throw new ConfigError(issues);
  }
  const fields = new ConfigFields(raw, problem);
  const family = architecture.startsWith('GPT2') ? 'gpt2' : 'llama';
  const task = architecture.endsWith('ForSequenceClassification') ? 'sequence-classification' : 'causal-lm';
  const modelType = architecture.replace(/For(CausalLM|SequenceClassification)$|LMHeadModel$/, '').toLowerCase();
  const spec = family === 'gpt2' ? gpt2Fields(fields, problem) : llamaFields(fields, problem, modelType);
  const numLabels = task === 'sequence-classification' ? labelCount(raw, problem) : 0;
  const padTokenId = fields.optionalInteger('pad_token_id');
  const eos = raw.eos_token_id;
  const eosTokenIds = typeof eos === 'number' ? [eos] : Array.isArray(eos) ? eos.filter((id): id is number => typeof id === 'number') : [];
  if (spec.hiddenSize !== undefined && spec.heads !== undefined && spec.kvHeads !== undefined && spec.heads % spec.kvHeads !== 0) {
    problem('num_key_value_heads', `${spec.kvHeads} does not divide num_attention_heads ${spec.heads}`);
  }
  if (issues.length) throw new ConfigError(issues);
  return { ...(spec as Omit<DecoderSpec, 'architecture' | 'family' | 'task' | 'numLabels' | 'padTokenId' | 'eosTokenIds' | 'raw'>), architecture, family, task, numLabels, padTokenId, eosTokenIds, raw };
}

type Problem = (field: string, message: string) => void;
type ArchitectureFields = Partial<Omit<DecoderSpec, 'architecture' | 'family' | 'task' | 'numLabels' | 'padTokenId' | 'eosTokenIds' | 'raw'>>;

/** GPT2Config: learned positions, LayerNorm with bias, fused c_attn, biases everywhere, tied by default. */
function gpt2Fields(fields: ConfigFields, problem: Problem): ArchitectureFields {
  const hiddenSize = fields.integer('n_embd');
  const heads = fields.integer('n_head');
  if (fields.raw.scale_attn_weights === false) problem('scale_attn_weights', 'is false; only true (scores divided by sqrt(head_dim)) is supported');
  if (fields.raw.scale_attn_by_inverse_layer_idx === true) problem('scale_attn_by_inverse_layer_idx', 'is true; only false is supported');
  if (fields.raw.add_cross_attention === true) problem('add_cross_attention', 'is true; only decoder-only GPT-2 is supported');
  return {
    vocabSize: fields.integer('vocab_size'),
    hiddenSize,
    layers: fields.integer('n_layer'),
    heads,
    kvHeads: heads,
    headDim: hiddenSize !== undefined && heads !== undefined ? divide(hiddenSize, heads, 'n_embd', problem) : undefined,
    intermediateSize: fields.optionalInteger('n_inner') ?? (hiddenSize === undefined ? undefined : 4 * hiddenSize),
    maxPositions: fields.integer('n_positions'),
    norm: 'layer-norm',
    normEpsilon: fields.number('layer_norm_epsilon', 1e-5),
    rope: undefined,
    activation: fields.choice('activation_function', ACTIVATIONS, 'gelu_new'),
    qkvBias: true,
    outputBias: true,
    mlpBias: true,
    qkNorm: false,
    tieWordEmbeddings: fields.boolean('tie_word_embeddings', true),
  };
}

/** LlamaConfig and the families that equal it up to flags (Mistral, Qwen2, Qwen3). */
function llamaFields(fields: ConfigFields, problem: Problem, modelType: string): ArchitectureFields {
  const hiddenSize = fields.integer('hidden_size');
  const heads = fields.integer('num_attention_heads');
  const defaultHeadDim = () => (hiddenSize !== undefined && heads !== undefined ? divide(hiddenSize, heads, 'hidden_size', problem) : undefined);
  // Qwen2 4.47 ignores `head_dim` (always hidden/heads); Qwen3 defaults it to 128; Llama and Mistral to hidden/heads.
  const headDim = modelType === 'qwen2' ? defaultHeadDim() : fields.optionalInteger('head_dim') ?? (modelType === 'qwen3' ? 128 : defaultHeadDim());
  const maxPositions = fields.integer('max_position_embeddings');
  // A window changes nothing until a sequence is longer than it. Mistral's default window is 4096; Qwen's
  // configs carry a number there that `use_sliding_window: false` switches off (fixture README, quirk 7).
  const window = modelType === 'mistral' ? (fields.raw.sliding_window === undefined ? 4096 : fields.raw.sliding_window) : undefined;
  if (modelType === 'mistral' && window !== null && !(typeof window === 'number' && maxPositions !== undefined && window >= maxPositions)) {
    problem('sliding_window', `is ${JSON.stringify(window)} (below max_position_embeddings ${maxPositions}); sliding-window attention is not supported (allowed: null or >= max_position_embeddings)`);
  }
  if (modelType !== 'mistral' && fields.raw.use_sliding_window === true) {
    problem('use_sliding_window', 'is true; sliding-window attention is not supported (allowed: false)');
  }
  const qkvBias = modelType === 'qwen2' ? true : fields.boolean('attention_bias', false);
  return {
    vocabSize: fields.integer('vocab_size'),
    hiddenSize,
    layers: fields.integer('num_hidden_layers'),
    heads,
    kvHeads: fields.optionalInteger('num_key_value_heads') ?? heads,
    headDim,
    intermediateSize: fields.integer('intermediate_size'),
    maxPositions,
    norm: 'rms-norm',
    normEpsilon: fields.number('rms_norm_eps', 1e-6),
    rope: ropeSpec(fields, problem),
    activation: fields.choice('hidden_act', ACTIVATIONS, 'silu'),
    qkvBias,
    outputBias: modelType === 'qwen2' ? false : qkvBias,
    mlpBias: modelType === 'llama' ? fields.boolean('mlp_bias', false) : false,
    qkNorm: modelType === 'qwen3',
    tieWordEmbeddings: fields.boolean('tie_word_embeddings', false),
  };
}

/** `rope_theta` + `rope_scaling` (transformers <= 4.5x) or `rope_parameters` (newer), both forms accepted. */
function ropeSpec(fields: ConfigFields, problem: Problem): RopeSpec {
  const parameters = fields.raw.rope_parameters;
  const usesParameters = parameters !== undefined && parameters !== null;
  const field = usesParameters ? 'rope_parameters' : 'rope_scaling';
  const scaling = (usesParameters ? parameters : fields.raw.rope_scaling) as Record<string, unknown> | null | undefined;
  if (scaling !== null && scaling !== undefined && (typeof scaling !== 'object' || Array.isArray(scaling))) {
    problem(field, `is ${JSON.stringify(scaling)}; expected an object or null`);
    return defaultRope(10000);
  }
  const thetaValue = usesParameters ? scaling?.rope_theta ?? fields.raw.rope_theta : fields.raw.rope_theta;
  const theta = thetaValue === undefined ? 10000 : typeof thetaValue === 'number' && thetaValue > 0 ? thetaValue : NaN;
  if (Number.isNaN(theta)) problem(usesParameters ? `${field}.rope_theta` : 'rope_theta', `is ${JSON.stringify(thetaValue)}; expected a positive number`);
  const rope = defaultRope(theta);
  if (!scaling) return rope;
  const type = scaling.rope_type ?? scaling.type ?? 'default';
  const number = (key: string, fallback?: number): number => {
    const value = scaling[key] ?? fallback;
    if (typeof value !== 'number' || !(value > 0)) {
      problem(`${field}.${key}`, `is ${JSON.stringify(scaling[key])}; expected a positive number for rope_type '${String(type)}'`);
      return NaN;
    }
    return value;
  };
  if (type === 'default') return rope;
  if (type === 'linear') return { ...rope, type, factor: number('factor') };
  if (type === 'llama3') {
    return {
      ...rope,
      type,
      factor: number('factor'),
      lowFreqFactor: number('low_freq_factor'),
      highFreqFactor: number('high_freq_factor'),
      originalMaxPositions: number('original_max_position_embeddings'),
    };
  }
  problem(`${field}.rope_type`, `is ${JSON.stringify(type)}; supported: default, linear, llama3`);
  return rope;
}

function defaultRope(theta: number): RopeSpec {
  return { theta, type: 'default', factor: 1, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPositions: 0 };
}

function labelCount(raw: Record<string, unknown>, problem: Problem): number {
  if (typeof raw.num_labels === 'number') return raw.num_labels;
  if (raw.id2label && typeof raw.id2label === 'object') return Object.keys(raw.id2label).length;
  // PretrainedConfig's default: two labels.
  if (raw.id2label === undefined) return 2;
  problem('id2label', `is ${JSON.stringify(raw.id2label)}; expected an object of label names`);
  return 0;
}

function divide(total: number, parts: number, field: string, problem: Problem): number | undefined {
  if (total % parts !== 0) {
    problem(field, `${total} is not divisible by the head count ${parts}`);
    return undefined;
  }
  return total / parts;
}

/** Typed reads of config.json fields that record a problem instead of throwing. */
class ConfigFields {
  constructor(
    readonly raw: Record<string, unknown>,
    private readonly problem: Problem,
  ) {}

  integer(key: string): number | undefined {
    const value = this.raw[key];
    if (value === undefined || value === null) this.problem(key, 'is missing; expected a positive integer');
    else if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) this.problem(key, `is ${JSON.stringify(value)}; expected a positive integer`);
    else return value;
    return undefined;
  }

  optionalInteger(key: string): number | undefined {
    const value = this.raw[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      this.problem(key, `is ${JSON.stringify(value)}; expected a non-negative integer or null`);
      return undefined;
    }
    return value;
  }

  number(key: string, fallback: number): number {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'number' || !(value > 0)) {
      this.problem(key, `is ${JSON.stringify(value)}; expected a positive number`);
      return fallback;
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'boolean') {
      this.problem(key, `is ${JSON.stringify(value)}; expected true or false`);
      return fallback;
    }
    return value;
  }

  choice<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw[key] ?? fallback;
    if (!(allowed as readonly unknown[]).includes(value)) {
      this.problem(key, `is ${JSON.stringify(value)}; supported: ${allowed.join(', ')}`);
      return fallback;
    }
    return value as T;
  }
}

/**
 * Parses `<directory>/config.json` into a DecoderSpec; errors name the file. Every path that builds a decoder
 * from a folder (createModel, the LoRA base, loadPretrained) reads its config here.
 *
 * @example
 * readDecoderSpec('../shared/fixtures/hf/qwen2').family; // 'llama'
 */
export function readDecoderSpec(directory: string): DecoderSpec {
  const path = join(directory, 'config.json');
  if (!existsSync(path)) throw new ConfigError([{ path, message: 'does not exist; a Hugging Face model folder holds config.json and model.safetensors' }]);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError([{ path, message: `is not valid JSON: ${(error as Error).message}` }]);
  }
  return parseHfConfig(raw, path);
}
