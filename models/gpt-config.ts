/**
 * Sizes of the GPT decoder. The architecture is fixed (pre-LayerNorm blocks, learned positions, fused qkv,
 * 4x GELU MLP, final LayerNorm, biased head); these fields scale it.
 */
import { ConfigError } from '../runtime/errors.ts';

export interface GPTConfig {
  /** Number of token ids (the tokenizer's vocabulary, specials included). */
  vocabSize: number;
  /** Longest sequence (prompt + generated) the learned position table covers. */
  contextLength: number;
  /** Width of the residual stream; must divide by `nHeads`. */
  dModel: number;
  /** Attention heads per block; head size is `dModel / nHeads`. */
  nHeads: number;
  /** Transformer blocks. */
  nLayers: number;
}

/**
 * The benchmark model "bench-S" of `shared/peers/torch_rlhf_step.py`: vocab 64, context 64, d_model 128,
 * 4 heads, 2 layers (about 0.41 M parameters with an LM head).
 */
export const BENCH_S: Readonly<GPTConfig> = Object.freeze({ vocabSize: 64, contextLength: 64, dModel: 128, nHeads: 4, nLayers: 2 });

/**
 * Throws a ConfigError listing every invalid field.
 *
 * @example
 * validateGPTConfig({ ...BENCH_S, nHeads: 3 }); // ConfigError: model.dModel: 128 is not divisible by nHeads 3
 */
export function validateGPTConfig(config: GPTConfig, path = 'model'): void {
  const issues: { path: string; message: string }[] = [];
  for (const key of ['vocabSize', 'contextLength', 'dModel', 'nHeads', 'nLayers'] as const) {
    const value = config[key];
    if (!Number.isInteger(value) || value < 1) issues.push({ path: `${path}.${key}`, message: `must be a positive integer, got ${value}` });
  }
  if (issues.length === 0 && config.dModel % config.nHeads !== 0) {
    issues.push({ path: `${path}.dModel`, message: `${config.dModel} is not divisible by nHeads ${config.nHeads}` });
  }
  if (issues.length) throw new ConfigError(issues);
}
