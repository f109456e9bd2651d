/**
 * `recipe model inspect` and `recipe export` through the real `recipe` command: what inspect reports comes from
 * config.json and the safetensors headers; export writes a folder transformers loads (byte-identical to the
 * source when the dtype is kept); every mistake exits 2 with a message naming the file or argument and no stack
 * trace. The `hf:` case runs against a loopback hub server (test/models/hf/loopback-hub.ts), not the real hub.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHfFolder } from '../../models/hf/hf-folder.ts';
import { readSafetensorsHeader } from '../../models/hf/safetensors.ts';
import { startLoopbackHub } from '../models/hf/loopback-hub.ts';

const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/hf');
const RECIPE = join(import.meta.dirname, '../../bin/recipe.js');
const scratch = mkdtempSync(join(tmpdir(), 'model-commands-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function recipe(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RECIPE, ...args], { timeout: 60_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

function expectUsageError(result: Result, ...fragments: string[]): void {
  expect(result.code, result.stderr).toBe(2);
  for (const fragment of fragments) expect(result.stderr).toContain(fragment);
  expect(result.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const storedParameters = (file: string) =>
  Object.values(readSafetensorsHeader(file).tensors).reduce((sum, { shape }) => sum + shape.reduce((product, size) => product * size, 1), 0);

/** A copy of a fixture with tokenizer files (the fixtures have none) and a chat template. */
function withTokenizer(name: string): string {
  const folder = join(scratch, `${name}-with-tokenizer`);
  cpSync(join(FIXTURES, name), folder, { recursive: true });
  writeFileSync(join(folder, 'tokenizer.json'), '{"version": "1.0", "model": {"type": "BPE"}}');
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify({ chat_template: "{% for m in messages %}{{ m['content'] }}{% endfor %}" }));
  return folder;
}

describe('recipe model inspect', () => {
  it('reports architecture, parameters, dtype and sizes of a folder', async () => {
    const result = await recipe(['model', 'inspect', join(FIXTURES, 'gpt2')]);
    expect(result.code, result.stderr).toBe(0);
    const parameters = storedParameters(join(FIXTURES, 'gpt2/model.safetensors'));
    expect(result.stdout).toContain('GPT2LMHeadModel (model_type gpt2)');
    expect(result.stdout).toContain(`parameters    ${parameters.toLocaleString('en-US')}`);
    expect(result.stdout).toMatch(/stored dtype +float32 \(F32, \d+ tensors\)/);
    expect(result.stdout).toMatch(/vocab +296\n/);
    expect(result.stdout).toMatch(/heads +5 query, 5 key-value, head_dim 8\n/);
    expect(result.stdout).toMatch(/context +48\n/);
    expect(result.stdout).toMatch(/tokenizer +none/);
    expect(result.stdout).toMatch(/chat template +no\n/);
  });

  it('reports bfloat16 storage, shards, tokenizer files and the chat template as JSON', async () => {
    const bf16 = JSON.parse((await recipe(['model', 'inspect', join(FIXTURES, 'qwen2-bf16'), '--json'])).stdout);
    expect(bf16).toMatchObject({ architecture: 'Qwen2ForCausalLM', modelType: 'qwen2', dtypes: { BF16: expect.any(Number) }, vocabSize: 280, tiedEmbeddings: false });
    expect(bf16.parameters).toBe(storedParameters(join(FIXTURES, 'qwen2-bf16/model.safetensors')));
    const sharded = JSON.parse((await recipe(['model', 'inspect', join(FIXTURES, 'llama-sharded'), '--json'])).stdout);
    expect(sharded.weightFiles).toEqual(['model.safetensors.index.json', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    expect(sharded.parameters).toBe(JSON.parse(readFileSync(join(FIXTURES, 'llama-sharded/model.safetensors.index.json'), 'utf8')).metadata.total_size / 4);
    const qwen3 = JSON.parse((await recipe(['model', 'inspect', withTokenizer('qwen3'), '--json'])).stdout);
    expect(qwen3).toMatchObject({ headDim: 12, attentionHeads: 6, keyValueHeads: 2, tokenizerFiles: ['tokenizer.json', 'tokenizer_config.json'], chatTemplate: 'tokenizer_config.json' });
  });

  it('inspects hf:Org/Name through the hub cache (loopback server)', async () => {
    const hub = await startLoopbackHub({ 'tiny/qwen3': { folder: join(FIXTURES, 'qwen3'), commit: 'c'.repeat(40), revisions: ['main'] } });
    try {
      const env = { HF_HOME: join(scratch, 'hf-home'), HF_ENDPOINT: hub.url };
      const result = await recipe(['model', 'inspect', 'hf:tiny/qwen3'], env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^model +hf:tiny\/qwen3@main \(commit c{40}\) at /);
      expect(result.stdout).toContain('Qwen3ForCausalLM');
      expectUsageError(await recipe(['model', 'inspect', 'hf:tiny/missing'], env), 'model:', 'hf:tiny/missing@main: not found');
    } finally {
      await hub.close();
    }
  });

  it('exits 2 naming the folder, file or spec at fault', async () => {
    expectUsageError(await recipe(['model', 'inspect', join(scratch, 'absent')]), 'model:', 'no model folder at');
    const noConfig = join(scratch, 'no-config');
    mkdirSync(noConfig);
    expectUsageError(await recipe(['model', 'inspect', noConfig]), 'config.json does not exist');
    const badJson = join(scratch, 'bad-json');
    mkdirSync(badJson);
    writeFileSync(join(badJson, 'config.json'), '{\n  "model_type": "llama"\n  "vocab_size": 3\n}\n');
    expectUsageError(await recipe(['model', 'inspect', badJson]), 'bad-json/config.json:3:3 is not valid JSON');
    const noWeights = join(scratch, 'no-weights');
    mkdirSync(noWeights);
    writeFileSync(join(noWeights, 'config.json'), '{}');
    expectUsageError(await recipe(['model', 'inspect', noWeights]), 'has neither model.safetensors nor model.safetensors.index.json');
    expectUsageError(await recipe(['model', 'inspect', 'hf:just-a-name']), '"hf:just-a-name" is not a hub model');
  });
});

describe('recipe export', () => {
  it('re-writes a folder byte for byte in its own dtype, and in bfloat16 when asked', async () => {
    const same = join(scratch, 'export-same');
    const result = await recipe(['export', join(FIXTURES, 'qwen2-bf16'), '--out', same]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('as bfloat16');
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'qwen2-bf16/expected.json'), 'utf8')).files as Record<string, { sha256: string }>;
    for (const [file, { sha256: digest }] of Object.entries(expected)) expect(sha256(join(same, file)), file).toBe(digest);

    const narrowed = join(scratch, 'export-bf16');
    expect((await recipe(['export', withTokenizer('llama-tied'), '--out', narrowed, '--dtype', 'bfloat16'])).code).toBe(0);
    const folder = readHfFolder(narrowed);
    expect(folder.config.torch_dtype).toBe('bfloat16');
    expect(new Set([...folder.tensors.values()].map((tensor) => tensor.dtype))).toEqual(new Set(['BF16']));
    expect(folder.tokenizerFiles).toEqual(['tokenizer.json', 'tokenizer_config.json']);
  });

  it("exports a recipe run's last policy stage, or the stage named", async () => {
    const run = join(scratch, 'runs', 'demo');
    cpSync(join(FIXTURES, 'llama-reward'), join(run, 'reward', 'model'), { recursive: true });
    cpSync(join(FIXTURES, 'llama-tied'), join(run, 'sft', 'model'), { recursive: true });
    cpSync(join(FIXTURES, 'qwen2'), join(run, 'ppo', 'model'), { recursive: true });
    const policy = await recipe(['export', run, '--out', join(scratch, 'export-run')]);
    expect(policy.stdout).toContain('exported stage ppo');
    expect(readHfFolder(join(scratch, 'export-run')).config.architectures).toEqual(['Qwen2ForCausalLM']);
    expect((await recipe(['export', run, '--stage', 'reward', '--out', join(scratch, 'export-reward')])).code).toBe(0);
    expect(readdirSync(join(scratch, 'export-reward')).sort()).toEqual(['config.json', 'model.safetensors']);
    expect((await recipe(['export', join(run, 'sft'), '--out', join(scratch, 'export-sft')])).stdout).toContain('as float32');
  });

  it("refuses bench-S stage models and other mistakes with exit 2", async () => {
    const stage = join(scratch, 'bench-s', 'sft');
    mkdirSync(stage, { recursive: true });
    writeFileSync(join(stage, 'model.json'), JSON.stringify({ format: 'posttrain-model-v1' }));
    writeFileSync(join(stage, 'model.bin'), '');
    const benchS = await recipe(['export', join(scratch, 'bench-s'), '--out', join(scratch, 'never')]);
    expectUsageError(benchS, "posttrain's own bench-S model file", 'head.bias', 'GPT2LMHeadModel', 'Exportable: a Hugging Face folder');
    expectUsageError(await recipe(['export', join(scratch, 'nothing-here'), '--out', join(scratch, 'never')]), 'target:', 'no directory at');
    expectUsageError(await recipe(['export', join(FIXTURES, 'gpt2'), '--out', join(scratch, 'never'), '--dtype', 'int8']), "'--dtype <dtype>' argument 'int8' is invalid", 'float32, bfloat16, float16');
    expectUsageError(await recipe(['export', join(scratch, 'runs', 'demo'), '--stage', 'rlhf', '--out', join(scratch, 'never')]), '--stage:', 'not a stage');
    const occupied = join(scratch, 'occupied');
    mkdirSync(occupied);
    writeFileSync(join(occupied, 'notes.txt'), 'mine');
    expectUsageError(await recipe(['export', join(FIXTURES, 'gpt2'), '--out', occupied]), '--out:', 'is not empty');
  });
});

describe('recipe model init and recipe generate', () => {
  it('writes a fresh Llama that inspect reads and generate continues greedily, the same way twice', async () => {
    const out = join(scratch, 'fresh-llama');
    const init = await recipe(['model', 'init', '--out', out, '--tokenizer', 'gpt2', '--seed', '3']);
    expect(init.code, init.stderr).toBe(0);
    const inspect = await recipe(['model', 'inspect', out, '--json']);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ architecture: 'LlamaForCausalLM', vocabSize: 50257 });
    const generate = () => recipe(['generate', '--model', out, '--prompt', 'The answer is', '--max-new-tokens', '4', '--greedy']);
    const [first, second] = [await generate(), await generate()];
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.length).toBeGreaterThan(1);
    expect(second.stdout).toBe(first.stdout);
  });

  it('refuses a bad shape and an occupied folder with exit 2, naming each option', async () => {
    expectUsageError(await recipe(['model', 'init', '--out', join(FIXTURES, 'qwen2'), '--shape', 'huge']), '--shape: is "huge"; allowed: tiny, smollm2-135m', '--out:');
  });
});
