/**
 * Which linear layers of a checkpoint LoRA adapts: every layer whose last name part is a target module (PEFT's
 * suffix match), with its sizes. Reads the one weight-name map (models/hf/weight-map.ts), so it knows every
 * family the decoder knows.
 */
import type { HeadKind } from '../gpt.ts';
import type { DecoderSpec } from '../hf/hf-config.ts';
import { weightEntries } from '../hf/weight-map.ts';
import { type LoraOptions, targetModulesFor } from './lora-config.ts';

/** One adapted layer. */
export interface LoraTarget {
  /** transformers' module name, e.g. `model.layers.0.self_attn.q_proj` (the weight is `<module>.weight`). */
  module: string;
  /** in_features of the layer. */
  inFeatures: number;
  /** out_features of the layer. */
  outFeatures: number;
  /** GPT-2's Conv1D stores its weight (in, out): PEFT's `fan_in_fan_out`. */
  fanInFanOut: boolean;
}

/**
 * The adapted layers of `spec`, in transformers' module order.
 *
 * @example
 * loraTargets(spec, 'language', { rank: 8, alpha: 8, dropout: 0 }).map((target) => target.module);
 * // ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', ...]
 */
export function loraTargets(spec: DecoderSpec, head: HeadKind, options: LoraOptions): LoraTarget[] {
  const modules: readonly string[] = targetModulesFor(options, spec.family);
  const targets: LoraTarget[] = [];
  for (const entry of weightEntries(spec, head)) {
    if (!entry.name.endsWith('.weight') || entry.fileShape.length !== 2) continue;
    const module = entry.name.slice(0, -'.weight'.length);
    if (!modules.includes(module.slice(module.lastIndexOf('.') + 1))) continue;
    // nn.Linear is (out, in) in the file and transposed in the flat buffer; Conv1D is (in, out) in both.
    const [inFeatures, outFeatures] = entry.transposed ? [entry.fileShape[1]!, entry.fileShape[0]!] : [entry.fileShape[0]!, entry.fileShape[1]!];
    targets.push({ module, inFeatures, outFeatures, fanInFanOut: !entry.transposed });
  }
  return targets;
}
