/**
 * config.json -> DecoderSpec: each family's flags as transformers reads them, and errors that name the field
 * and what is allowed; tensors that do not fit name the tensor and both shapes. Both are ConfigErrors: the CLI
 * exits 2 on them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HfDecoder } from '../../../models/hf/decoder.ts';
import { parseHfConfig } from '../../../models/hf/hf-config.ts';
import { loadPretrained } from '../../../models/hf/pretrained.ts';
import { readSafetensorsFolder } from '../../../models/hf/safetensors.ts';
import { ConfigError } from '../../../runtime/errors.ts';
import { FIXTURES } from './hf-fixtures.ts';
import { thrownBy } from '../../expect-error.ts';

const config = (fixture: string): Record<string, unknown> => JSON.parse(readFileSync(join(FIXTURES, fixture, 'config.json'), 'utf8'));

const configIssues = (raw: Record<string, unknown>) => thrownBy(() => parseHfConfig(raw), ConfigError).issues;

describe('parseHfConfig', () => {
  it('reads each family into the flags of the one decoder', () => {
    expect(parseHfConfig(config('gpt2'))).toMatchObject({ family: 'gpt2', norm: 'layer-norm', rope: undefined, activation: 'gelu_new', headDim: 8, intermediateSize: 120, tieWordEmbeddings: true, qkvBias: true });
    expect(parseHfConfig(config('llama-gqa-llama3rope'))).toMatchObject({
      family: 'llama',
      heads: 6,
      kvHeads: 2,
      headDim: 10,
      tieWordEmbeddings: false,
      rope: { type: 'llama3', theta: 500000, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 128 },
    });
    expect(parseHfConfig(config('qwen2'))).toMatchObject({ qkvBias: true, outputBias: false, qkNorm: false, tieWordEmbeddings: true, headDim: 14 });
    expect(parseHfConfig(config('qwen3'))).toMatchObject({ qkvBias: false, qkNorm: true, headDim: 12 });
    expect(parseHfConfig(config('llama-sharded'))).toMatchObject({ qkvBias: true, outputBias: true, mlpBias: false });
    expect(parseHfConfig(config('llama-reward'))).toMatchObject({ task: 'sequence-classification', numLabels: 1, padTokenId: 0 });
  });

  it('accepts the newer rope_parameters form with the same meaning as rope_theta + rope_scaling', () => {
    const old = parseHfConfig(config('llama-gqa-llama3rope'));
    const { rope_scaling: scaling, rope_theta: theta, ...rest } = config('llama-gqa-llama3rope');
    const newer = parseHfConfig({ ...rest, rope_parameters: { ...(scaling as object), rope_theta: theta } });
    expect(newer.rope).toEqual(old.rope);
  });

  it('Mistral equals Llama when no sliding window is in use, and is refused when one is', () => {
    const mistral = { ...config('llama-tied'), architectures: ['MistralForCausalLM'], model_type: 'mistral', sliding_window: null };
    expect(parseHfConfig(mistral)).toMatchObject({ family: 'llama', qkvBias: false, mlpBias: false });
    expect(configIssues({ ...mistral, sliding_window: 64 })[0]!.path).toMatch(/:sliding_window$/);
    expect(configIssues({ ...config('qwen2'), use_sliding_window: true })[0]!.path).toMatch(/:use_sliding_window$/);
  });

  it('names the field and what is allowed: unknown architecture, missing field, unsupported rope type', () => {
    expect(configIssues({ ...config('qwen2'), architectures: ['BertForMaskedLM'] })[0]).toMatchObject({ path: 'config.json:architectures', message: expect.stringContaining('Qwen2ForCausalLM') });
    const { hidden_size: _, ...missing } = config('qwen2');
    expect(configIssues(missing)[0]).toMatchObject({ path: 'config.json:hidden_size', message: expect.stringContaining('missing') });
    const yarn = configIssues({ ...config('llama-tied'), rope_scaling: { rope_type: 'yarn', factor: 4 } });
    expect(yarn[0]).toMatchObject({ path: 'config.json:rope_scaling.rope_type', message: expect.stringContaining('default, linear, llama3') });
    expect(configIssues({ ...config('llama-tied'), num_key_value_heads: 4 })[0]!.path).toBe('config.json:num_key_value_heads');
  });
});

describe('loading tensors', () => {
  const spec = parseHfConfig(config('qwen2'));
  const tensors = () => readSafetensorsFolder(join(FIXTURES, 'qwen2'));
  const failure = (run: () => unknown) => thrownBy(run, ConfigError);

  it('a missing tensor is named with its expected shape', () => {
    const table = tensors();
    table.delete('model.layers.1.self_attn.k_proj.bias');
    const error = failure(() => HfDecoder.fromTensors(spec, table, { source: 'qwen2' }));
    expect(error.message).toContain('model.layers.1.self_attn.k_proj.bias');
    expect(error.message).toContain('[28]');
  });

  it('a shape mismatch names the tensor, the found and the expected shape', () => {
    const error = failure(() => HfDecoder.fromTensors({ ...spec, intermediateSize: 100 }, tensors(), { source: 'qwen2' }));
    expect(error.issues[0]).toEqual({ path: 'qwen2:model.layers.0.mlp.gate_proj.weight', message: 'tensor has shape [112,56], expected [100,56] from config.json' });
    // every misshapen tensor is reported, not just the first: gate, up and down in both layers
    expect(error.issues).toHaveLength(6);
  });

  it('an unexpected tensor is named', () => {
    const table = tensors();
    table.set('model.layers.0.self_attn.extra.weight', { shape: [2], dtype: 'F32', data: new Float32Array(2) });
    expect(failure(() => HfDecoder.fromTensors(spec, table)).message).toContain('model.layers.0.self_attn.extra.weight');
  });
});

describe('loadPretrained on a broken folder', () => {
  it('a folder without weights or with a broken config is a ConfigError naming the file', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'hf-broken-'));
    try {
      await expect(loadPretrained(directory)).rejects.toThrow(/config\.json: does not exist/);
      writeFileSync(join(directory, 'config.json'), JSON.stringify(config('qwen2')));
      await expect(loadPretrained(directory)).rejects.toBeInstanceOf(ConfigError);
      writeFileSync(join(directory, 'config.json'), '{ not json');
      await expect(loadPretrained(directory)).rejects.toThrow(/config\.json: is not valid JSON/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
