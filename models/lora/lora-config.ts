/**
 * LoRA's settings (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models", Eq. 3) with PEFT's names
 * for the modules it adapts and PEFT's defaults (peft.LoraConfig: r 8, lora_alpha 8, lora_dropout 0.0, and
 * target_modules per model type from TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING: q_proj and v_proj for
 * Llama, Mistral, Qwen2 and Qwen3; c_attn for GPT-2).
 */
import type { DecoderSpec } from '../hf/hf-config.ts';

/** The modules LoRA can adapt, by family, named as PEFT names them (the last part of the module's name). */
export const LORA_TARGET_MODULES = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  /** GPT-2's Conv1D layers: c_proj matches both attn.c_proj and mlp.c_proj, as PEFT's suffix match does. */
  gpt2: ['c_attn', 'c_proj', 'c_fc'],
} as const satisfies Record<DecoderSpec['family'], readonly string[]>;

/** Every module name any family accepts (the config's enum). */
export const ALL_LORA_TARGET_MODULES = [...LORA_TARGET_MODULES.llama, ...LORA_TARGET_MODULES.gpt2] as const;
export type LoraTargetModule = (typeof ALL_LORA_TARGET_MODULES)[number];

/** PEFT's default target modules per family (used when `targetModules` is not given). */
export const DEFAULT_LORA_TARGET_MODULES: Record<DecoderSpec['family'], LoraTargetModule[]> = { llama: ['q_proj', 'v_proj'], gpt2: ['c_attn'] };

/** `model.lora` as the config resolved it. */
export interface LoraOptions {
  /** r: rank of B A (PEFT default 8). */
  rank: number;
  /** lora_alpha: the update is scaled by alpha / rank (PEFT default 8). */
  alpha: number;
  /** lora_dropout: dropout on the adapter's input, in training only (PEFT default 0). */
  dropout: number;
  /** target_modules: PEFT's module names; undefined = PEFT's default for the family. */
  targetModules?: LoraTargetModule[] | undefined;
}

/**
 * The modules adapted in a model of `family`: the configured ones, else PEFT's default.
 *
 * @example
 * targetModulesFor({ rank: 8, alpha: 16, dropout: 0 }, 'llama'); // ['q_proj', 'v_proj']
 */
export function targetModulesFor(options: LoraOptions, family: DecoderSpec['family']): LoraTargetModule[] {
  return options.targetModules ?? DEFAULT_LORA_TARGET_MODULES[family];
}

/**
 * The names in `options.targetModules` that a model of `family` does not have (empty when all are valid).
 *
 * @example
 * unknownTargetModules({ rank: 8, alpha: 8, dropout: 0, targetModules: ['c_attn'] }, 'llama'); // ['c_attn']
 */
export function unknownTargetModules(options: LoraOptions, family: DecoderSpec['family']): string[] {
  const known: readonly string[] = LORA_TARGET_MODULES[family];
  return (options.targetModules ?? []).filter((name) => !known.includes(name));
}
