import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensorsFile, readSafetensorsFolder, readSafetensorsHeader, writeSafetensorsFile } from '../../../models/hf/safetensors.ts';

const FIXTURES = join(import.meta.dirname, '../../../../shared/fixtures/hf');
const scratch = mkdtempSync(join(tmpdir(), 'safetensors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('safetensors', () => {
  it('reads a sharded checkpoint as the same table as its index', () => {
    const tensors = readSafetensorsFolder(join(FIXTURES, 'llama-sharded'));
    const index = JSON.parse(readFileSync(join(FIXTURES, 'llama-sharded/model.safetensors.index.json'), 'utf8'));
    expect([...tensors.keys()].sort()).toEqual(Object.keys(index.weight_map).sort());
    const bytes = [...tensors.values()].reduce((sum, tensor) => sum + tensor.data.length * 4, 0);
    expect(bytes).toBe(index.metadata.total_size);
  });

  it('widens bf16 exactly and writes it back byte for byte', () => {
    const source = join(FIXTURES, 'qwen2-bf16/model.safetensors');
    const tensors = readSafetensorsFile(source);
    expect([...tensors.values()].every((tensor) => tensor.dtype === 'BF16')).toBe(true);
    const { metadata } = readSafetensorsHeader(source);
    const out = join(scratch, 'bf16.safetensors');
    writeSafetensorsFile(out, [...tensors.entries()].sort(([a], [b]) => (a < b ? -1 : 1)), 'BF16', metadata);
    expect(readFileSync(out).equals(readFileSync(source))).toBe(true);
  });

  it('writes float32 the way transformers does (byte-identical round trip)', () => {
    const source = join(FIXTURES, 'qwen3/model.safetensors');
    const tensors = readSafetensorsFile(source);
    const out = join(scratch, 'f32.safetensors');
    writeSafetensorsFile(out, [...tensors.entries()].sort(([a], [b]) => (a < b ? -1 : 1)), 'F32', readSafetensorsHeader(source).metadata);
    expect(readFileSync(out).equals(readFileSync(source))).toBe(true);
  });

  it('round-trips float16 with round-to-nearest-even', () => {
    const values = new Float32Array([0, -0, 1, -2.5, 65504, 1e-7, 6.1e-5, 0.1, Infinity]);
    const out = join(scratch, 'f16.safetensors');
    writeSafetensorsFile(out, [['x', { shape: [values.length], data: values }]], 'F16');
    const back = readSafetensorsFile(out).get('x')!.data;
    expect(Array.from(back.slice(0, 5))).toEqual([0, -0, 1, -2.5, 65504]);
    expect(back[5]).toBeCloseTo(1.1920928955078125e-7, 12); // nearest subnormal half
    expect(back[7]).toBe(0.0999755859375);
    expect(back[8]).toBe(Infinity);
  });

  it('names the file when the header is truncated', () => {
    const out = join(scratch, 'bad.safetensors');
    writeSafetensorsFile(out, [['x', { shape: [1], data: new Float32Array([1]) }]]);
    const bytes = readFileSync(out);
    bytes.writeBigUInt64LE(10_000n, 0);
    writeFileSync(out, bytes);
    expect(() => readSafetensorsFile(out)).toThrow(/bad\.safetensors: header length 10000 exceeds the file/);
  });
});
