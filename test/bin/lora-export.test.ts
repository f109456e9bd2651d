/**
 * `recipe export` of LoRA stages through the real `recipe` command: a LoRA stage exports its PEFT adapter folder;
 * `--merge-lora` exports the merged model (the stage's model/); a PEFT folder given directly merges onto its base
 * (base_model_name_or_path) to the same weights; a base that is not a local folder is a usage error (exit 2).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../models/engine.ts';
import { characterTokenizerFiles, initLlamaFolder, TINY_LLAMA } from '../../models/hf/init-model.ts';
import { readSafetensorsFile, readSafetensorsFolder } from '../../models/hf/safetensors.ts';
import { LoraModel } from '../../models/lora/lora-model.ts';
import { writePeftFolder } from '../../models/lora/peft-folder.ts';
import { acquireBase } from '../../models/lora/shared-base.ts';
import { exportModel } from '../../models/model-spec.ts';
import { writeHfFolder } from '../../models/hf/hf-folder.ts';
import { Rng } from '../../models/rng.ts';

const RECIPE = join(import.meta.dirname, '../../bin/recipe.js');
const scratch = mkdtempSync(join(tmpdir(), 'lora-export-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function recipe(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RECIPE, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

const base = join(scratch, 'base');
const stage = join(scratch, 'runs', 'demo', 'sft');

/** A LoRA stage as saveStageModel writes it: model/ merged, adapter/ PEFT's, from trained-looking adapters. */
beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
  initLlamaFolder(base, { ...TINY_LLAMA, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1 }, { seed: 3, extraFiles: characterTokenizerFiles() });
  const model = new LoraModel(acquireBase(base, 'language', 0), { rank: 2, alpha: 4, dropout: 0 }, 1);
  const rng = new Rng(7);
  for (let i = 0; i < model.parameters.data.length; i++) model.parameters.data[i] = 0.1 * rng.normal();
  const exported = exportModel(model, base);
  if (exported.format !== 'hf' || !exported.adapter) throw new Error('expected a LoRA export');
  writeHfFolder(join(stage, 'model'), { config: exported.config, tensors: exported.tensors, tokenizerFrom: base });
  writeFileSync(join(stage, 'model', 'posttrain.json'), JSON.stringify({ stage: 'sft' }));
  writePeftFolder(join(stage, 'adapter'), exported.adapter);
  model.dispose();
});

describe('recipe export of a LoRA stage', () => {
  it('exports the PEFT adapter folder by default', async () => {
    const out = join(scratch, 'out-adapter');
    const result = await recipe(['export', stage, '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('PEFT LoRA adapter');
    expect(existsSync(join(out, 'config.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 4, base_model_name_or_path: base });
    expect(readFileSync(join(out, 'adapter_model.safetensors'))).toEqual(readFileSync(join(stage, 'adapter', 'adapter_model.safetensors')));
  });

  it('exports the merged model with --merge-lora, and a PEFT folder merged onto its base gives the same weights', async () => {
    const merged = join(scratch, 'out-merged');
    const fromStage = await recipe(['export', stage, '--out', merged, '--merge-lora']);
    expect(fromStage.code, fromStage.stderr).toBe(0);
    expect(fromStage.stdout).toContain('merged');
    expect(readFileSync(join(merged, 'model.safetensors'))).toEqual(readFileSync(join(stage, 'model', 'model.safetensors')));

    const fromAdapter = join(scratch, 'out-from-adapter');
    const result = await recipe(['export', join(stage, 'adapter'), '--out', fromAdapter, '--merge-lora']);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(fromAdapter, 'tokenizer.json'))).toBe(true);
    const expected = readSafetensorsFolder(join(stage, 'model'));
    const actual = readSafetensorsFolder(fromAdapter);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, tensor] of expected) {
      const found = actual.get(name)!.data;
      tensor.data.forEach((value, i) => expect(Math.abs(value - found[i]!), name).toBeLessThan(1e-6));
    }
    expect(readSafetensorsFile(join(stage, 'adapter', 'adapter_model.safetensors')).size).toBe(4);
  });

  it('refuses to merge an adapter whose base is not a local folder, naming the field (exit 2)', async () => {
    const adapter = join(scratch, 'orphan-adapter');
    const config = JSON.parse(readFileSync(join(stage, 'adapter', 'adapter_config.json'), 'utf8'));
    writePeftFolder(adapter, { config: { ...config, base_model_name_or_path: 'Org/not-here' }, tensors: [...readSafetensorsFile(join(stage, 'adapter', 'adapter_model.safetensors'))] });
    const result = await recipe(['export', adapter, '--out', join(scratch, 'out-orphan'), '--merge-lora']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('base_model_name_or_path');
    expect(result.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
  });
});
