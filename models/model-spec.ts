/**
 * Which model a role builds, as plain data that crosses to worker processes, and the one factory that builds it:
 * the bench-S GPT from its sizes, or a Hugging Face checkpoint's decoder from its folder. Roles, rollout workers
 * and trainers hold a `CausalModel` and never ask which one it is.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalModel } from './causal-model.ts';
import type { GPTConfig } from './gpt-config.ts';
import { GPT, type HeadKind, parameterShapes } from './gpt.ts';
import type { ParameterManifest } from './flat-parameters.ts';
import { HfDecoder } from './hf/decoder.ts';
import type { LoraOptions } from './lora/lora-config.ts';
import { LoraModel } from './lora/lora-model.ts';
import { mergeAdapter } from './lora/merge.ts';
import { peftAdapterFiles, type PeftAdapterFiles } from './lora/peft-folder.ts';
import { acquireBase } from './lora/shared-base.ts';
import { PretrainedModel } from './hf/pretrained.ts';
import { readDecoderSpec } from './hf/hf-config.ts';
import { readSharedTensors } from './hf/shared-tensors.ts';
import { weightCount } from './hf/weight-map.ts';
import { loadTokenizerSync } from '../data/tokenizers/hf-tokenizer.ts';
import type { Tokenizer } from '../data/tokenizers/tokenizer.ts';

/** The architecture every role of a stage shares. */
export type ModelSpec =
  /** posttrain's own GPT (bench-S and its sizes), initialised from a seed. */
  | { kind: 'gpt'; config: GPTConfig }
  /** A Hugging Face folder (config.json + safetensors); its weights are the default starting point. */
  | {
      kind: 'hf';
      directory: string;
      /** Train LoRA adapters on the frozen weights instead of every weight (models/lora/). */
      lora?: LoraOptions;
    };

/** True when `path` is a Hugging Face model folder (a directory holding config.json). */
export function isHfFolder(path: string): boolean {
  return existsSync(join(path, 'config.json'));
}

/**
 * How many weights the model of `spec` has with a language head (the largest head), from its sizes alone
 * (config.json for a Hugging Face folder): what `initEngine({ modelParameters })` needs before any model is
 * built, so that `auto` leaves wasm for a model whose training would not fit its heap. Under LoRA it counts the
 * frozen base, which every role of the process holds.
 *
 * @example
 * modelParameterCount({ kind: 'gpt', config: BENCH_S });            // 421_440
 * modelParameterCount({ kind: 'hf', directory: './SmolLM2-135M' }); // 134_515_008
 */
export function modelParameterCount(spec: ModelSpec): number {
  if (spec.kind === 'hf') return weightCount(readDecoderSpec(spec.directory), 'language');
  return parameterShapes(spec.config, 'language').reduce((sum, [, shape]) => sum + shape.reduce((product, size) => product * size, 1), 0);
}

/**
 * Builds a model with `head`. For a GPT: fresh weights from `seed`. For a Hugging Face spec: the weights of
 * `weightsDirectory` (default: the spec's own folder), with any head the checkpoint lacks (a value or reward head
 * on a causal LM) freshly initialised from `seed`. Roles of one process that start from the same folder share
 * one read of its tensors (models/hf/shared-tensors.ts).
 *
 * With LoRA (`spec.lora`) the folder is the frozen base, loaded once per process and shared
 * (models/lora/shared-base.ts): a trainable model's `parameters` are its adapters (A from `seed`, B zero), and a
 * `frozen` one (the reference, a frozen reward model) is the base alone, with no weights of its own.
 *
 * @example
 * const policy = createModel({ kind: 'hf', directory: './my-model' }, 'language', 0);
 * const critic = createModel({ kind: 'hf', directory: './my-model' }, 'value', 0, 'runs/x/reward/model');
 */
export function createModel(spec: ModelSpec, head: HeadKind, seed: number, weightsDirectory?: string, options: { frozen?: boolean } = {}): CausalModel {
  if (spec.kind === 'gpt') return new GPT(spec.config, { head, seed });
  const directory = weightsDirectory ?? spec.directory;
  if (spec.lora) return new LoraModel(acquireBase(directory, head, seed), options.frozen ? undefined : spec.lora, seed);
  return HfDecoder.fromTensors(readDecoderSpec(directory), readSharedTensors(directory), { head, seed, source: directory });
}

/** A model's weights as a stage writes them: posttrain's own model file, or a Hugging Face folder's contents. */
export type ExportedModel =
  | { format: 'posttrain'; config: GPTConfig; head: HeadKind; weights: Float32Array; manifest: ParameterManifest }
  | {
      format: 'hf';
      /** config.json as transformers writes it for this head (a value or reward head: *ForSequenceClassification). */
      config: Record<string, unknown>;
      /** transformers' names and file shapes, sorted by name. */
      tensors: [string, { shape: number[]; data: Float32Array }][];
      /** The folder the model was loaded from (its tokenizer and generation config travel with the weights). */
      source: string;
      /** A LoRA model's adapter in PEFT's format (the tensors above are then the merged model). */
      adapter?: PeftAdapterFiles;
    };

/**
 * The current weights of `model`, in the format its stage writes.
 * @param source for a Hugging Face model, the folder it was loaded from
 */
export function exportModel(model: CausalModel, source = ''): ExportedModel {
  if (model instanceof GPT) return { format: 'posttrain', config: model.config, head: model.head, weights: model.parameters.data.slice(), manifest: model.parameters.manifest };
  if (model instanceof LoraModel && model.adapter) {
    const merged = mergeAdapter(model.base, model.adapter);
    const pretrained = new PretrainedModel(merged);
    const exported: ExportedModel = { format: 'hf', config: pretrained.hfConfig('float32'), tensors: pretrained.hfTensors(), source, adapter: peftAdapterFiles(model.base, model.adapter, source) };
    merged.dispose();
    return exported;
  }
  if (model instanceof LoraModel) model = model.base;
  if (model instanceof HfDecoder) {
    const pretrained = new PretrainedModel(model);
    return { format: 'hf', config: pretrained.hfConfig('float32'), tensors: pretrained.hfTensors(), source };
  }
  throw new Error(`exportModel: unknown model class ${(model as object).constructor.name}`);
}

/** The GPT sizes of a spec; throws for a Hugging Face spec (for code that only handles the GPT, e.g. benches). */
export function gptConfigOf(spec: ModelSpec): GPTConfig {
  if (spec.kind !== 'gpt') throw new Error(`expected posttrain's GPT, got the Hugging Face model at ${spec.directory}`);
  return spec.config;
}

/**
 * The tokenizer tasks use with this model: the folder's own for a Hugging Face model; undefined for the GPT,
 * whose tasks bring their character tokenizer.
 *
 * @example
 * const task = createTask(config.task, tokenizerOf(spec));
 */
export function tokenizerOf(spec: ModelSpec): Tokenizer | undefined {
  return spec.kind === 'hf' ? loadTokenizerSync(spec.directory) : undefined;
}
