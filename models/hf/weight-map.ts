/**
 * The one place that knows every tensor's Hugging Face name and shape, for each family and head, and how it is
 * laid out in posttrain's flat parameter buffer.
 *
 * Names are transformers' state_dict names. Shapes in the flat buffer equal the file's, except nn.Linear weights:
 * transformers stores them (out, in); we store them (in, out) so that `x @ W` is a plain product (tfjs-wasm runs
 * a product with a transposed operand about 10x slower, measured). GPT-2's Conv1D weights are already (in, out).
 * Loading and saving transpose those tensors once; everything else is a straight copy.
 */
import { ConfigError } from '../../runtime/errors.ts';
import { FlatParameters } from '../flat-parameters.ts';
import type { HeadKind } from '../gpt.ts';
import { Rng } from '../rng.ts';
import type { DecoderSpec } from './hf-config.ts';

/** One tensor of the layout. */
export interface WeightEntry {
  /** transformers' name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Shape in the safetensors file. */
  fileShape: number[];
  /** Stored (in, out) in the flat buffer, i.e. transposed relative to the file. */
  transposed: boolean;
}

/** Tensors that files may hold but that are recomputed buffers, not weights (older GPT-2 and Llama saves). */
const IGNORED_BUFFERS = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /\.rotary_emb\.inv_freq$/];

/**
 * Every weight of `spec` with `head`, in transformers' module order.
 *
 * @example
 * weightEntries(parseHfConfig(json), 'language').map((entry) => entry.name); // ['model.embed_tokens.weight', ...]
 */
export function weightEntries(spec: DecoderSpec, head: HeadKind): WeightEntry[] {
  const entries: WeightEntry[] = [];
  const plain = (name: string, shape: number[]) => entries.push({ name, fileShape: shape, transposed: false });
  /** nn.Linear (in -> out): stored (out, in) in the file. */
  const dense = (name: string, input: number, output: number, bias: boolean) => {
    entries.push({ name: `${name}.weight`, fileShape: [output, input], transposed: true });
    if (bias) plain(`${name}.bias`, [output]);
  };
  const { hiddenSize: D, vocabSize: V, headDim, heads, kvHeads, intermediateSize: I } = spec;
  if (spec.family === 'gpt2') {
    plain('transformer.wte.weight', [V, D]);
    plain('transformer.wpe.weight', [spec.maxPositions, D]);
    for (let layer = 0; layer < spec.layers; layer++) {
      const prefix = `transformer.h.${layer}`;
      plain(`${prefix}.ln_1.weight`, [D]);
      plain(`${prefix}.ln_1.bias`, [D]);
      // Conv1D: weight (in, out), as we store it.
      plain(`${prefix}.attn.c_attn.weight`, [D, 3 * D]);
      plain(`${prefix}.attn.c_attn.bias`, [3 * D]);
      plain(`${prefix}.attn.c_proj.weight`, [D, D]);
      plain(`${prefix}.attn.c_proj.bias`, [D]);
      plain(`${prefix}.ln_2.weight`, [D]);
      plain(`${prefix}.ln_2.bias`, [D]);
      plain(`${prefix}.mlp.c_fc.weight`, [D, I]);
      plain(`${prefix}.mlp.c_fc.bias`, [I]);
      plain(`${prefix}.mlp.c_proj.weight`, [I, D]);
      plain(`${prefix}.mlp.c_proj.bias`, [D]);
    }
    plain('transformer.ln_f.weight', [D]);
    plain('transformer.ln_f.bias', [D]);
  } else {
    plain('model.embed_tokens.weight', [V, D]);
    for (let layer = 0; layer < spec.layers; layer++) {
      const prefix = `model.layers.${layer}`;
      plain(`${prefix}.input_layernorm.weight`, [D]);
      dense(`${prefix}.self_attn.q_proj`, D, heads * headDim, spec.qkvBias);
      dense(`${prefix}.self_attn.k_proj`, D, kvHeads * headDim, spec.qkvBias);
      dense(`${prefix}.self_attn.v_proj`, D, kvHeads * headDim, spec.qkvBias);
      dense(`${prefix}.self_attn.o_proj`, heads * headDim, D, spec.outputBias);
      if (spec.qkNorm) {
        plain(`${prefix}.self_attn.q_norm.weight`, [headDim]);
        plain(`${prefix}.self_attn.k_norm.weight`, [headDim]);
      }
      plain(`${prefix}.post_attention_layernorm.weight`, [D]);
      dense(`${prefix}.mlp.gate_proj`, D, I, spec.mlpBias);
      dense(`${prefix}.mlp.up_proj`, D, I, spec.mlpBias);
      dense(`${prefix}.mlp.down_proj`, I, D, spec.mlpBias);
    }
    plain('model.norm.weight', [D]);
  }
  if (head === 'language') {
    if (!spec.tieWordEmbeddings) dense('lm_head', D, V, false);
  } else {
    // Sequence classification's `score` (no bias); the value head is the same layer with one output, as TRL's
    // PPO value model (AutoModelForSequenceClassification, num_labels 1) read at every token.
    dense('score', D, head === 'reward' ? Math.max(spec.numLabels, 1) : 1, false);
  }
  return entries;
}

/**
 * How many weights `spec` has with `head`: the sum over `weightEntries`, from the config alone (no tensors).
 *
 * @example
 * weightCount(parseHfConfig(llamaConfigJson(SMOLLM2_135M)), 'language'); // 134_515_008
 */
export function weightCount(spec: DecoderSpec, head: HeadKind): number {
  return weightEntries(spec, head).reduce((sum, entry) => sum + entry.fileShape.reduce((product, size) => product * size, 1), 0);
}

/**
 * The flat buffer's layout for `entries` (linear weights (in, out)).
 *
 * @example
 * const parameters = flatLayout(weightEntries(spec, 'language'));
 */
export function flatLayout(entries: WeightEntry[]): FlatParameters {
  return FlatParameters.fromShapes(entries.map((entry) => [entry.name, entry.transposed ? [entry.fileShape[1]!, entry.fileShape[0]!] : entry.fileShape]));
}

/**
 * Copies file tensors into the flat buffer, checking every name and shape. A head the file does not have
 * (`score` on a causal LM: a reward or value model started from a policy) is initialised from `seed` like
 * transformers does (normal, std `initializer_range`); anything else missing, misshapen or unexpected is a
 * ConfigError naming each tensor with its found and expected shape.
 *
 * @param source where the tensors came from, for messages
 *
 * @example
 * loadWeights(model.parameters, model.weightEntries, readSafetensorsFolder(dir), { head: 'language', spec, source: dir });
 */
export function loadWeights(parameters: FlatParameters, entries: WeightEntry[], tensors: Map<string, { shape: number[]; data: Float32Array }>, options: { head: HeadKind; spec: DecoderSpec; source: string; seed?: number }): void {
  const { head, spec, source } = options;
  const named = normaliseNames(tensors, spec);
  const expected = new Set(entries.map((entry) => entry.name));
  // Every problem at once, as a ConfigError (the folder is the user's input: the CLI exits 2).
  const issues: { path: string; message: string }[] = [];
  for (const entry of entries) {
    const tensor = named.get(entry.name);
    if (!tensor) {
      if (entry.name === 'score.weight') {
        initialiseHead(parameters.view(entry.name), spec, options.seed ?? 0);
        continue;
      }
      issues.push({ path: `${source}:${entry.name}`, message: `tensor is missing (expected shape [${entry.fileShape}] from config.json)` });
      continue;
    }
    if (tensor.shape.length !== entry.fileShape.length || tensor.shape.some((size, i) => size !== entry.fileShape[i])) {
      issues.push({ path: `${source}:${entry.name}`, message: `tensor has shape [${tensor.shape}], expected [${entry.fileShape}] from config.json` });
      continue;
    }
    const view = parameters.view(entry.name);
    if (entry.transposed) transposeInto(tensor.data, entry.fileShape[0]!, entry.fileShape[1]!, view);
    else view.set(tensor.data);
  }
  for (const name of named.keys()) {
    if (expected.has(name) || IGNORED_BUFFERS.some((pattern) => pattern.test(name))) continue;
    // Heads this model does not use: the LM head of a checkpoint loaded as a reward/value model, the score of a
    // classifier loaded as a value model's base, or a tied lm_head that some tools write anyway.
    if (name === 'lm_head.weight' && (head !== 'language' || spec.tieWordEmbeddings)) continue;
    if (name === 'score.weight' && head === 'language') continue;
    issues.push({ path: `${source}:${name}`, message: `unexpected tensor (shape [${named.get(name)!.shape}]): not part of ${spec.architecture} as config.json describes it` });
  }
  if (issues.length) throw new ConfigError(issues);
}

/**
 * The tensors as transformers names and shapes them, sorted by name (the order `save_pretrained` writes).
 *
 * @example
 * writeSafetensorsFile('out/model.safetensors', exportWeights(model.parameters, entries), 'BF16');
 */
export function exportWeights(parameters: FlatParameters, entries: WeightEntry[]): [string, { shape: number[]; data: Float32Array }][] {
  return entries
    .map((entry): [string, { shape: number[]; data: Float32Array }] => {
      const view = parameters.view(entry.name);
      if (!entry.transposed) return [entry.name, { shape: [...entry.fileShape], data: view.slice() }];
      const data = new Float32Array(view.length);
      transposeInto(view, entry.fileShape[1]!, entry.fileShape[0]!, data);
      return [entry.name, { shape: [...entry.fileShape], data }];
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * (rows, columns) row-major -> (columns, rows), cache-blocked.
 *
 * @example
 * transposeInto(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, out); // out = [1, 4, 2, 5, 3, 6]
 */
export function transposeInto(source: Float32Array, rows: number, columns: number, target: Float32Array): void {
  const BLOCK = 32;
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(r0 + BLOCK, rows);
    for (let c0 = 0; c0 < columns; c0 += BLOCK) {
      const c1 = Math.min(c0 + BLOCK, columns);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) target[c * rows + r] = source[r * columns + c]!;
    }
  }
}

/** Hub GPT-2 files (openai-community/gpt2) name the base model's tensors without the `transformer.` prefix. */
function normaliseNames<T>(tensors: Map<string, T>, spec: DecoderSpec): Map<string, T> {
  if (spec.family !== 'gpt2') return tensors;
  const named = new Map<string, T>();
  for (const [name, tensor] of tensors) named.set(/^(h\.|wte\.|wpe\.|ln_f\.)/.test(name) ? `transformer.${name}` : name, tensor);
  return named;
}

/** transformers' `_init_weights` for a Linear: normal(0, initializer_range). */
function initialiseHead(view: Float32Array, spec: DecoderSpec, seed: number): void {
  const std = typeof spec.raw.initializer_range === 'number' ? spec.raw.initializer_range : 0.02;
  const rng = new Rng(seed);
  for (let i = 0; i < view.length; i++) view[i] = std * rng.normal();
}
