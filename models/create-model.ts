/**
 * One constructor for every architecture a role may host: the bench-S GPT from a GPTConfig, or the Hugging Face
 * decoder from a DecoderSpec (models/hf/hf-config.ts). Roles, trainers and rollout then use the CausalModel
 * interface only, so hosting an HF model is a matter of which config reaches this function.
 */
import type { CausalModel } from './causal-model.ts';
import { GPT, type HeadKind } from './gpt.ts';
import type { GPTConfig } from './gpt-config.ts';
import { HfDecoder } from './hf/decoder.ts';
import type { DecoderSpec } from './hf/hf-config.ts';

/** What to build and from which weights. */
export interface CreateModelOptions {
  head: HeadKind;
  /** Seed of a fresh initialisation (and of a fresh head on a checkpoint that lacks it). */
  seed?: number;
  /** A flat buffer in the model's layout (copied); omit to initialise from the seed. */
  weights?: Float32Array;
}

/**
 * @example
 * const policy = createModel(BENCH_S, { head: 'language', seed: 1 });
 * const critic = createModel(parseHfConfig(json), { head: 'value', weights: flat });
 */
export function createModel(config: GPTConfig | DecoderSpec, options: CreateModelOptions): CausalModel {
  if (!isDecoderSpec(config)) return new GPT(config, options);
  const model = new HfDecoder(config, { head: options.head, seed: options.seed });
  if (options.weights) model.parameters.load(options.weights);
  return model;
}

function isDecoderSpec(config: GPTConfig | DecoderSpec): config is DecoderSpec {
  return 'architecture' in config;
}
