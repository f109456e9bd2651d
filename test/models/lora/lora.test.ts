/**
 * LoRA's invariants on real checkpoints (Llama-family Qwen2 with q/k/v biases, GPT-2's fused Conv1D, a Llama
 * reward model): a fresh adapter (B = 0) computes exactly the base; the merged model's weights differ from the
 * base's by exactly scale * B A in every target; the merged model computes what base + adapters compute; the
 * reference (adapters off) is the base; a PEFT folder written and read back gives the merged logits; only the
 * adapters (and a classifier's head) get gradients.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeGradients } from '../../../models/compute-gradients.ts';
import type { HeadKind } from '../../../models/gpt.ts';
import { readSafetensorsFile } from '../../../models/hf/safetensors.ts';
import { exportWeights } from '../../../models/hf/weight-map.ts';
import { LoraModel } from '../../../models/lora/lora-model.ts';
import { adapterDelta, mergeAdapter } from '../../../models/lora/merge.ts';
import { applyPeftAdapter, peftAdapterFiles, writePeftFolder } from '../../../models/lora/peft-folder.ts';
import { acquireBase, releaseBase, sharedBaseCount } from '../../../models/lora/shared-base.ts';
import { createModel } from '../../../models/model-spec.ts';
import { Rng } from '../../../models/rng.ts';
import { useBackend } from '../backends.ts';
import { FIXTURES } from '../hf/hf-fixtures.ts';

beforeAll(() => useBackend('cpu'));

const temporary = mkdtempSync(join(tmpdir(), 'lora-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

/** Two left-padded rows of length 5. */
function batch(vocabSize: number) {
  return { tokens: Int32Array.from([0, 3, 9, 4, 2, 7, 1, 5, 8, 6].map((t) => t % vocabSize)), batchSize: 2, length: 5, attentionMask: Int32Array.from([0, 1, 1, 1, 1, 1, 1, 1, 1, 1]) };
}

function read(tensor: tf.Tensor): Float32Array {
  const values = tensor.dataSync() as Float32Array;
  tensor.dispose();
  return values;
}

/** Fills every adapter weight (B included) with seeded noise, as if trained. */
function perturb(model: LoraModel, seed: number): void {
  const rng = new Rng(seed);
  const data = model.parameters.data;
  for (let i = 0; i < data.length; i++) data[i] = 0.2 * rng.normal();
  model.refresh();
}

function output(model: { logits: LoraModel['logits']; scores: LoraModel['scores'] }, head: HeadKind, vocabSize: number): Float32Array {
  return read(head === 'language' ? model.logits(batch(vocabSize)) : model.scores(batch(vocabSize)));
}

const CASES = [
  { name: 'qwen2', head: 'language' as const, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const },
  { name: 'gpt2', head: 'language' as const, targetModules: ['c_attn', 'c_proj', 'c_fc'] as const },
  { name: 'llama-reward', head: 'reward' as const, targetModules: undefined },
];

describe.each(CASES)('LoRA on $name ($head head)', ({ name, head, targetModules }) => {
  const directory = join(FIXTURES, name);
  const options = { rank: 4, alpha: 8, dropout: 0, ...(targetModules ? { targetModules: [...targetModules] } : {}) };

  it('a fresh adapter (B = 0) gives exactly the base outputs, and the reference (adapters off) is the base', () => {
    const base = acquireBase(directory, head, 0);
    const vocabSize = base.spec.vocabSize;
    const plain = output(base, head, vocabSize);
    const policy = new LoraModel(base, options, 3);
    const reference = new LoraModel(acquireBase(directory, head, 0));
    expect(reference.base).toBe(policy.base);
    expect(reference.parameters.size).toBe(0);
    expect(output(policy, head, vocabSize)).toEqual(plain);
    perturb(policy, 1);
    expect(output(policy, head, vocabSize)).not.toEqual(plain);
    expect(output(reference, head, vocabSize)).toEqual(plain);
    policy.dispose();
    reference.dispose();
  });

  it('merged - base == (alpha / r) B A in every target (within 1e-6), and the merged model computes base + adapters', () => {
    const base = acquireBase(directory, head, 0);
    const policy = new LoraModel(base, options, 3);
    perturb(policy, 2);
    const adapter = policy.adapter!;
    expect(adapter.targets.length).toBeGreaterThan(0);
    const merged = mergeAdapter(base, adapter);
    const mergedTensors = new Map(exportWeights(merged.parameters, merged.weightEntries));
    const baseTensors = new Map(exportWeights(base.parameters, base.weightEntries));
    for (const target of adapter.targets) {
      // In the file's layout: nn.Linear (out, in) gets B A; GPT-2's Conv1D (in, out) gets (B A)^T (fan_in_fan_out).
      const [a, b] = [adapter.parameters.view(`${target.module}.lora_A.weight`), adapter.parameters.view(`${target.module}.lora_B.weight`)];
      const { inFeatures: input, outFeatures: out } = target;
      const difference = mergedTensors.get(`${target.module}.weight`)!.data.map((value, i) => value - baseTensors.get(`${target.module}.weight`)!.data[i]!);
      let worst = 0;
      for (let i = 0; i < input; i++) {
        for (let o = 0; o < out; o++) {
          let expected = 0;
          for (let k = 0; k < options.rank; k++) expected += a[i * options.rank + k]! * b[k * out + o]!;
          expected *= adapter.scale;
          const found = target.fanInFanOut ? difference[i * out + o]! : difference[o * input + i]!;
          worst = Math.max(worst, Math.abs(found - expected));
        }
      }
      expect(worst, target.module).toBeLessThan(1e-6);
      expect(adapterDelta(adapter, target.module).length).toBe(input * out);
    }
    const untouched = [...baseTensors.keys()].filter((tensor) => !adapter.targets.some((target) => tensor === `${target.module}.weight`) && tensor !== 'score.weight');
    for (const tensor of untouched) expect(mergedTensors.get(tensor)!.data, tensor).toEqual(baseTensors.get(tensor)!.data);
    const adapted = output(policy, head, base.spec.vocabSize);
    const fromMerged = output(merged, head, base.spec.vocabSize);
    fromMerged.forEach((value, i) => expect(Math.abs(value - adapted[i]!)).toBeLessThan(1e-4));
    merged.dispose();
    policy.dispose();
  });

  it("a PEFT folder (PEFT's names and shapes) read back and applied to the base gives the merged outputs", () => {
    const base = acquireBase(directory, head, 0);
    const policy = new LoraModel(base, options, 3);
    perturb(policy, 4);
    const folder = join(temporary, `${name}-adapter`);
    writePeftFolder(folder, peftAdapterFiles(base, policy.adapter!, directory));
    const config = JSON.parse(readFileSync(join(folder, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, bias: 'none', base_model_name_or_path: directory, fan_in_fan_out: name === 'gpt2', task_type: head === 'language' ? 'CAUSAL_LM' : 'SEQ_CLS', modules_to_save: head === 'language' ? null : ['score'] });
    const tensors = readSafetensorsFile(join(folder, 'adapter_model.safetensors'));
    const first = policy.adapter!.targets[0]!;
    expect(tensors.get(`base_model.model.${first.module}.lora_A.weight`)!.shape).toEqual([4, first.inFeatures]);
    expect(tensors.get(`base_model.model.${first.module}.lora_B.weight`)!.shape).toEqual([first.outFeatures, 4]);
    if (head !== 'language') expect(tensors.has('base_model.model.score.weight')).toBe(true);
    const merged = mergeAdapter(base, policy.adapter!);
    const applied = applyPeftAdapter(base, folder);
    const fromMerged = output(merged, head, base.spec.vocabSize);
    const fromFolder = output(applied, head, base.spec.vocabSize);
    fromMerged.forEach((value, i) => expect(Math.abs(value - fromFolder[i]!)).toBeLessThan(1e-4));
    merged.dispose();
    applied.dispose();
    policy.dispose();
  });

  it('gradients reach only the adapters (and a classifier head): the base weights are constants', () => {
    const base = acquireBase(directory, head, 0);
    const policy = new LoraModel(base, options, 3);
    perturb(policy, 5);
    const before = base.parameters.data.slice();
    const { gradients } = computeGradients(policy, () => tf.tidy(() => tf.sum(tf.square(head === 'language' ? policy.logits(batch(base.spec.vocabSize)) : policy.scores(batch(base.spec.vocabSize)))) as tf.Scalar));
    expect(gradients.length).toBe(policy.parameters.size);
    expect(gradients.length).toBeLessThan(base.parameters.size);
    for (const entry of policy.parameters.manifest.entries) {
      const norm = gradients.subarray(entry.offset, entry.offset + entry.size).reduce((sum, value) => sum + value * value, 0);
      expect(norm, entry.name).toBeGreaterThan(0);
    }
    expect(base.parameters.data).toEqual(before);
    policy.dispose();
  });
});

describe('LoRA models from createModel', () => {
  it('a trainable model and a frozen one of the same folder share one base in this process; the last release frees it', () => {
    const spec = { kind: 'hf' as const, directory: join(FIXTURES, 'qwen2'), lora: { rank: 2, alpha: 4, dropout: 0 } };
    const count = sharedBaseCount();
    const policy = createModel(spec, 'language', 0) as LoraModel;
    const reference = createModel(spec, 'language', 0, undefined, { frozen: true }) as LoraModel;
    expect(sharedBaseCount()).toBe(count + 1);
    expect(reference.base).toBe(policy.base);
    // PEFT's default targets q_proj and v_proj: r * (D + Hq*d) + r * (D + Hkv*d) per layer.
    const { layers, hiddenSize, heads, kvHeads, headDim } = policy.base.spec;
    expect(policy.parameters.size).toBe(layers * 2 * (2 * hiddenSize + heads * headDim + kvHeads * headDim));
    policy.dispose();
    expect(sharedBaseCount()).toBe(count + 1);
    reference.dispose();
    expect(sharedBaseCount()).toBe(count);
  });

  it('dropout acts on the adapter input only while gradients are taken, and draws the same masks for the same weights', () => {
    const base = acquireBase(join(FIXTURES, 'qwen2'), 'language', 0);
    const policy = new LoraModel(base, { rank: 4, alpha: 8, dropout: 0.5 }, 3);
    perturb(policy, 6);
    const vocabSize = base.spec.vocabSize;
    const loss = () => tf.tidy(() => tf.sum(policy.logits(batch(vocabSize))) as tf.Scalar);
    const inference = read(policy.logits(batch(vocabSize)));
    const exact = new LoraModel(base, { rank: 4, alpha: 8, dropout: 0 }, 3);
    exact.loadFlat(policy.parameters.data);
    expect(read(exact.logits(batch(vocabSize)))).toEqual(inference);
    const first = computeGradients(policy, loss).gradients;
    policy.refresh();
    const again = computeGradients(policy, loss).gradients;
    expect(again).toEqual(first);
    expect(first).not.toEqual(computeGradients(exact, () => tf.tidy(() => tf.sum(exact.logits(batch(vocabSize))) as tf.Scalar)).gradients);
    exact.dispose();
    policy.dispose();
    releaseBase(base);
  });
});
