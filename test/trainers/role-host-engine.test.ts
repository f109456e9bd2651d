/**
 * A trainer's role host tells the engine how big its model is before the engine starts, as bench/llama-step.ts
 * does: on `auto`, a model whose training does not fit the 4 GiB wasm heap (SmolLM2-135M) runs on cpu, and the
 * engine's reason (its log line) says why. The count comes from config.json alone, so a folder holding only
 * SmolLM2-135M's config is enough: the engine is chosen before the role loads weights (which then fails here,
 * naming the missing file). Its own test file: the engine is chosen once per process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineChoice } from '../../models/engine.ts';
import { llamaConfigJson, SMOLLM2_135M } from '../../models/hf/init-model.ts';
import { modelParameterCount } from '../../models/model-spec.ts';
import { BENCH_S, GPT } from '../../models/index.ts';
import { gpuDeviceNodePresent } from '../../models/webgpu-device.ts';
import { RoleHost } from '../../trainers/roles/role-host.ts';
import { FIXTURES } from '../models/hf/hf-fixtures.ts';
import { summarizeHfFolder } from '../../models/hf/model-summary.ts';

const folder = mkdtempSync(join(tmpdir(), 'posttrain-role-host-engine-'));
writeFileSync(join(folder, 'config.json'), JSON.stringify(llamaConfigJson(SMOLLM2_135M)));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('role host engine choice', () => {
  it('a model too big for the wasm heap makes auto skip wasm for cpu, and the reason says so', async () => {
    const host = new RoleHost({ backend: 'auto', threads: 1 });
    const init = { role: 'value', rank: 0, worldSize: 1, model: { kind: 'hf' as const, directory: folder }, head: 'value' as const, weights: { seed: 0 } };
    await expect(host.addRole('value', 'value', init)).rejects.toThrow(/model\.safetensors/);
    const choice = engineChoice()!;
    // Without a GPU device node (CI, this machine) auto reaches wasm, skips it, and lands on cpu.
    if (!gpuDeviceNodePresent()) {
      expect(choice.backend).toBe('cpu');
      expect(choice.reason).toMatch(/wasm: a model of 134\.5M parameters needs ~2\.2 GB for training/);
    } else {
      expect(choice.backend).not.toBe('wasm');
    }
  });

  it('the count is the weights the model holds: the GPT from its sizes, a Hugging Face folder from config.json', () => {
    expect(modelParameterCount({ kind: 'gpt', config: BENCH_S })).toBe(new GPT(BENCH_S, { head: 'language', seed: 0 }).parameters.size);
    expect(modelParameterCount({ kind: 'hf', directory: folder })).toBe(134_515_008);
    // transformers' count of the stored tensors, for untied (qwen2-bf16) and tied (qwen3) heads.
    for (const fixture of ['qwen2-bf16', 'qwen3', 'gpt2']) {
      expect(modelParameterCount({ kind: 'hf', directory: join(FIXTURES, fixture) })).toBe(summarizeHfFolder(join(FIXTURES, fixture)).parameters);
    }
  });
});
