/**
 * writeHfFolder writes what transformers' save_pretrained wrote: every fixture's tensors and config, written
 * back, give files with the fixture's own sha256 (config.json, generation_config.json, the safetensors, the
 * shard index), including the bfloat16 and sharded ones. readHfFolder's errors name the file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHfFolder, writeHfFolder, type HfDtype } from '../../../models/hf/hf-folder.ts';
import { pythonFloat, pythonJson } from '../../../models/hf/python-json.ts';

const FIXTURES = join(import.meta.dirname, '../../../../shared/fixtures/hf');
const scratch = mkdtempSync(join(tmpdir(), 'hf-folder-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const FIXTURE_NAMES = ['gpt2', 'llama-gqa-llama3rope', 'llama-tied', 'qwen2', 'qwen3', 'llama-reward', 'qwen2-bf16', 'llama-sharded'];

/** LlamaForCausalLM's state-dict order (module declaration order), which decides how transformers shards. */
function llamaStateDictOrder(layers: number, withBias: boolean): string[] {
  const perLayer = ['q_proj', 'k_proj', 'v_proj', 'o_proj'].flatMap((projection) =>
    withBias ? [`self_attn.${projection}.weight`, `self_attn.${projection}.bias`] : [`self_attn.${projection}.weight`],
  );
  perLayer.push('mlp.gate_proj.weight', 'mlp.up_proj.weight', 'mlp.down_proj.weight', 'input_layernorm.weight', 'post_attention_layernorm.weight');
  const names = ['model.embed_tokens.weight'];
  for (let layer = 0; layer < layers; layer++) names.push(...perLayer.map((name) => `model.layers.${layer}.${name}`));
  return [...names, 'model.norm.weight', 'lm_head.weight'];
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('writeHfFolder reproduces save_pretrained byte for byte', () => {
  it.each(FIXTURE_NAMES)('%s: every file has the fixture sha256', (name) => {
    const source = join(FIXTURES, name);
    const expected = JSON.parse(readFileSync(join(source, 'expected.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
    const { config, tensors } = readHfFolder(source);
    const sharded = name === 'llama-sharded';
    const order = sharded ? llamaStateDictOrder(2, true) : [...tensors.keys()];
    expect(new Set(order)).toEqual(new Set(tensors.keys()));
    const out = join(scratch, name);
    writeHfFolder(out, {
      config,
      tensors: order.map((tensorName) => [tensorName, tensors.get(tensorName)!]),
      dtype: config.torch_dtype as HfDtype,
      // save_pretrained(max_shard_size=...) made 3 shards; any limit in [127000, 137200] splits them the same way
      ...(sharded ? { maxShardBytes: 130_000 } : {}),
    });
    expect(readdirSync(out).sort()).toEqual(Object.keys(expected.files).sort());
    for (const [file, { sha256: digest }] of Object.entries(expected.files)) {
      expect(sha256(join(out, file)), file).toBe(digest);
    }
  });

  it('re-saves a float32 model in bfloat16 and reads the same rounded values back', () => {
    const { config, tensors } = readHfFolder(join(FIXTURES, 'qwen2'));
    const out = join(scratch, 'qwen2-as-bf16');
    writeHfFolder(out, { config, tensors: [...tensors], dtype: 'bfloat16' });
    const back = readHfFolder(out);
    expect(back.config.torch_dtype).toBe('bfloat16');
    const embedding = back.tensors.get('model.embed_tokens.weight')!;
    expect(embedding.dtype).toBe('BF16');
    const original = tensors.get('model.embed_tokens.weight')!.data;
    for (let i = 0; i < 50; i++) expect(Math.abs(embedding.data[i]! - original[i]!)).toBeLessThanOrEqual(Math.abs(original[i]!) * 2 ** -8);
  });

  it('copies the tokenizer files that exist and removes shards of an earlier save', () => {
    const tokenizer = join(scratch, 'tokenizer-source');
    mkdirSync(tokenizer, { recursive: true });
    writeFileSync(join(tokenizer, 'tokenizer.json'), '{"model": {}}');
    writeFileSync(join(tokenizer, 'tokenizer_config.json'), '{"chat_template": "{{ messages }}"}');
    const { config, tensors } = readHfFolder(join(FIXTURES, 'llama-sharded'));
    const out = join(scratch, 'resaved');
    writeHfFolder(out, { config, tensors: [...tensors], maxShardBytes: 130_000 });
    expect(existsSync(join(out, 'model.safetensors.index.json'))).toBe(true);
    writeHfFolder(out, { config, tensors: [...tensors], tokenizerFrom: tokenizer });
    expect(readdirSync(out).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readHfFolder(out).tokenizerFiles).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')).toBe('{"chat_template": "{{ messages }}"}');
  });

  it('writes the given generation config with the config transformers_version', () => {
    const out = join(scratch, 'generation');
    writeHfFolder(out, {
      config: { architectures: ['LlamaForCausalLM'], transformers_version: '4.47.0' },
      tensors: [['w', { shape: [1], data: new Float32Array([1]) }]],
      generationConfig: { do_sample: true, temperature: 1, eos_token_id: [2, 3] },
    });
    expect(readFileSync(join(out, 'generation_config.json'), 'utf8')).toBe(
      '{\n  "do_sample": true,\n  "eos_token_id": [\n    2,\n    3\n  ],\n  "temperature": 1.0,\n  "transformers_version": "4.47.0"\n}\n',
    );
  });

  it('rejects a tensor whose data does not fill its shape, naming it', () => {
    expect(() => writeHfFolder(join(scratch, 'bad'), { config: {}, tensors: [['lm_head.weight', { shape: [2, 3], data: new Float32Array(5) }]] })).toThrow(
      /lm_head\.weight has shape \[2,3\] \(6 values\) but 5 values/,
    );
  });
});

describe('pythonJson writes what Python json.dumps writes', () => {
  it('formats floats with repr', () => {
    expect([0, 1e-5, 1e-6, 0.2, 10000, 1e16, 1.5e-7, 123456.789, 0.0001, -2].map(pythonFloat)).toEqual([
      '0.0', '1e-05', '1e-06', '0.2', '10000.0', '1e+16', '1.5e-07', '123456.789', '0.0001', '-2.0',
    ]);
  });

  it('escapes non-ASCII and sorts keys', () => {
    expect(pythonJson({ b: 'é😀\u007f', a: [], c: {}, rope_scaling: { factor: 8, rope_type: 'llama3' } })).toBe(
      '{\n  "a": [],\n  "b": "\\u00e9\\ud83d\\ude00\\u007f",\n  "c": {},\n  "rope_scaling": {\n    "factor": 8.0,\n    "rope_type": "llama3"\n  }\n}\n',
    );
  });
});

describe('readHfFolder errors name the file', () => {
  it('a missing folder', () => {
    expect(() => readHfFolder(join(scratch, 'nowhere'))).toThrow(/no model folder at .*nowhere/);
  });

  it('a folder without config.json', () => {
    const dir = join(scratch, 'no-config');
    mkdirSync(dir, { recursive: true });
    expect(() => readHfFolder(dir)).toThrow(/no-config\/config\.json does not exist/);
  });

  it('bad JSON, with line and column', () => {
    const dir = join(scratch, 'bad-json');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{\n  "vocab_size": 3,\n  "hidden_size": ,\n}\n');
    expect(() => readHfFolder(dir)).toThrow(/bad-json\/config\.json:3:\d+ is not valid JSON/);
  });

  it('no weights', () => {
    const dir = join(scratch, 'no-weights');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{}');
    expect(() => readHfFolder(dir)).toThrow(/has neither model\.safetensors nor model\.safetensors\.index\.json/);
  });
});
