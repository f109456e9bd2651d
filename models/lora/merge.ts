/**
 * Merging adapters into the base, as PEFT's `merge_and_unload`: W' = W + (alpha / r) B A for every target (for
 * GPT-2's Conv1D, fan_in_fan_out, the (in, out) weight gets (B A)^T), and a trained head replaces the base's. The
 * result is a plain HfDecoder, written as a normal Hugging Face folder that transformers loads unchanged.
 */
import { HfDecoder } from '../hf/decoder.ts';
import { HEAD_WEIGHT, type LoraAdapter } from './lora-adapter.ts';

/**
 * (in, out) scale * A^T @ B^T of one target: the update to the flat (in, out) weight.
 *
 * @example
 * const delta = adapterDelta(adapter, 'model.layers.0.self_attn.q_proj'); // Float32Array of in * out
 */
export function adapterDelta(adapter: LoraAdapter, module: string): Float32Array {
  const target = adapter.targets.find((candidate) => candidate.module === module);
  if (!target) throw new Error(`adapterDelta: ${module} is not a LoRA target (targets: ${adapter.targets.map((t) => t.module).join(', ')})`);
  const { inFeatures, outFeatures } = target;
  const rank = adapter.options.rank;
  const a = adapter.parameters.view(`${module}.lora_A.weight`); // (in, r)
  const b = adapter.parameters.view(`${module}.lora_B.weight`); // (r, out)
  const delta = new Float32Array(inFeatures * outFeatures);
  for (let i = 0; i < inFeatures; i++) {
    for (let k = 0; k < rank; k++) {
      const weight = adapter.scale * a[i * rank + k]!;
      if (weight === 0) continue;
      for (let o = 0; o < outFeatures; o++) delta[i * outFeatures + o]! += weight * b[k * outFeatures + o]!;
    }
  }
  return delta;
}

/**
 * The base with the adapter merged in, as a new decoder (the base is not changed).
 *
 * @example
 * const merged = mergeAdapter(policy.base, policy.adapter!);
 * new PretrainedModel(merged).save('out/merged');
 */
export function mergeAdapter(base: HfDecoder, adapter: LoraAdapter): HfDecoder {
  const merged = new HfDecoder(base.spec, { head: base.head }, false);
  merged.parameters.load(base.parameters.data);
  for (const target of adapter.targets) {
    const weight = merged.parameters.view(`${target.module}.weight`);
    const delta = adapterDelta(adapter, target.module);
    for (let i = 0; i < weight.length; i++) weight[i]! += delta[i]!;
  }
  if (adapter.parameters.manifest.entries.some((entry) => entry.name === HEAD_WEIGHT)) merged.parameters.view(HEAD_WEIGHT).set(adapter.parameters.view(HEAD_WEIGHT));
  merged.refresh();
  return merged;
}
