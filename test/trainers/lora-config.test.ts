/**
 * `model.lora` in a trainer's config: PEFT's defaults fill what is not given, the resolved model spec carries the
 * settings to every role, and mistakes name their field: LoRA without `model.from`, a module the architecture does
 * not have, a rank of 0.
 */
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { characterTokenizerFiles, initLlamaFolder, TINY_LLAMA } from '../../models/hf/init-model.ts';
import { parseSftConfig } from '../../trainers/index.ts';
import { temporaryDirectory } from '../faults/helpers.ts';

let base: string;
beforeAll(() => {
  base = join(temporaryDirectory('lora-config'), 'tiny-llama');
  initLlamaFolder(base, { ...TINY_LLAMA, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1 }, { seed: 3, extraFiles: characterTokenizerFiles() });
});

it("fills PEFT's defaults (r 8, lora_alpha 8, dropout 0, targets from the family) and hands them to every role", () => {
  const config = parseSftConfig({ task: { name: 'sentiment' }, model: { from: base, lora: {} } });
  expect(config.model.lora).toEqual({ rank: 8, alpha: 8, dropout: 0 });
  expect(config.derived.model).toEqual({ kind: 'hf', directory: base, lora: { rank: 8, alpha: 8, dropout: 0 } });
});

it('names the field of each mistake', () => {
  expect(() => parseSftConfig({ task: { name: 'sentiment' }, model: { lora: { rank: 4 } } })).toThrow(/model\.lora: LoRA adapts a Hugging Face model: set model\.from/);
  expect(() => parseSftConfig({ task: { name: 'sentiment' }, model: { from: base, lora: { targetModules: ['q_proj', 'c_attn'] } } })).toThrow(
    /model\.lora\.targetModules: c_attn is not a module of LlamaForCausalLM; allowed: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/,
  );
  expect(() => parseSftConfig({ task: { name: 'sentiment' }, model: { from: base, lora: { rank: 0 } } })).toThrow(/model\.lora\.rank/);
  expect(() => parseSftConfig({ task: { name: 'sentiment' }, model: { from: base, lora: { targetModules: ['qkv'] } } })).toThrow(/model\.lora\.targetModules/);
});
