/**
 * LoRA's run-level invariant, read from the files a LoRA stage wrote: its merged `model/` minus the folder it
 * adapted equals (alpha / r) B A for every target in `adapter/` (PEFT's names and layout: lora_A (r, in), lora_B
 * (out, r), nn.Linear weights (out, in)), and every other tensor is the base's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensorsFile, readSafetensorsFolder } from '../../../models/hf/safetensors.ts';

export interface StageAdapterCheck {
  /** adapter_config.json as written. */
  config: { r: number; lora_alpha: number; base_model_name_or_path: string; target_modules: string[] } & Record<string, unknown>;
  /** Per adapted weight: the largest |merged - base - (alpha / r) B A| (Infinity when A or B has the wrong shape) and the largest |(alpha / r) B A|. */
  targets: { weight: string; worst: number; largest: number }[];
  /** Weights that are not targets yet differ from the base's (should be none; a classifier's `score` is a target of modules_to_save, not listed). */
  changedOthers: string[];
}

/**
 * @example
 * const { targets } = checkStageAdapter('runs/x/ppo');   // base: adapter_config.json's base_model_name_or_path
 * for (const { weight, worst } of targets) expect(worst, weight).toBeLessThan(1e-6);
 */
export function checkStageAdapter(stageDirectory: string, baseFolder?: string): StageAdapterCheck {
  const config = JSON.parse(readFileSync(join(stageDirectory, 'adapter', 'adapter_config.json'), 'utf8')) as StageAdapterCheck['config'];
  const adapter = readSafetensorsFile(join(stageDirectory, 'adapter', 'adapter_model.safetensors'));
  const merged = readSafetensorsFolder(join(stageDirectory, 'model'));
  const original = readSafetensorsFolder(baseFolder ?? config.base_model_name_or_path);
  const rank = config.r;
  const scale = config.lora_alpha / rank;
  const targets: StageAdapterCheck['targets'] = [];
  const changedOthers: string[] = [];
  for (const [weight, tensor] of merged) {
    const module = `base_model.model.${weight.replace(/\.weight$/, '')}`;
    const a = adapter.get(`${module}.lora_A.weight`);
    const before = original.get(weight)!.data;
    if (!a) {
      if (!adapter.has(`base_model.model.${weight}`) && tensor.data.some((value, i) => value !== before[i])) changedOthers.push(weight);
      continue;
    }
    const b = adapter.get(`${module}.lora_B.weight`)!;
    const [out, input] = tensor.shape as [number, number];
    if (a.shape.join() !== `${rank},${input}` || b.shape.join() !== `${out},${rank}`) {
      targets.push({ weight, worst: Infinity, largest: 0 });
      continue;
    }
    let worst = 0;
    let largest = 0;
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < input; i++) {
        let delta = 0;
        for (let k = 0; k < rank; k++) delta += b.data[o * rank + k]! * a.data[k * input + i]!;
        delta *= scale;
        largest = Math.max(largest, Math.abs(delta));
        worst = Math.max(worst, Math.abs(tensor.data[o * input + i]! - before[o * input + i]! - delta));
      }
    }
    targets.push({ weight, worst, largest });
  }
  return { config, targets, changedOthers };
}
