import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BENCH_S, FlatParameters, GPT, type GPTConfig } from '../../models/index.ts';
import { TEST_BACKENDS, expectClose, take, useBackend } from './backends.ts';

const TINY: GPTConfig = { vocabSize: 7, contextLength: 8, dModel: 8, nHeads: 2, nLayers: 2 };
const TWO_ROWS = { tokens: Int32Array.from([1, 2, 3, 4, 5, 6, 0, 1, 2, 3]), batchSize: 2, length: 5 };

describe('GPT parameters', () => {
  it('bench-S has the parameter count of the PyTorch peer (421,440 with an LM head)', () => {
    expect(new GPT(BENCH_S).parameters.size).toBe(421_440);
    expect(new GPT(BENCH_S, { head: 'value' }).parameters.size).toBe(421_440 - 128 * 64 - 64 + 128 + 1);
  });

  it('the same seed gives the same bytes, another seed other bytes', () => {
    const a = new GPT(TINY, { seed: 3 });
    expect(new GPT(TINY, { seed: 3 }).parameters.checksum()).toBe(a.parameters.checksum());
    expect(new GPT(TINY, { seed: 4 }).parameters.checksum()).not.toBe(a.parameters.checksum());
  });

  it('the manifest survives JSON and rebuilds a model with identical weights', () => {
    const source = new GPT(TINY, { seed: 5 });
    const manifest = JSON.parse(JSON.stringify(source.parameters.manifest));
    const copy = FlatParameters.fromManifest(manifest, source.parameters.data.slice());
    expect(copy.checksum()).toBe(source.parameters.checksum());
    expect(copy.view('blocks.1.fc.weight')).toEqual(source.parameters.view('blocks.1.fc.weight'));
    expect(() => new GPT(TINY).loadFlat(new Float32Array(3))).toThrow(/cannot load 3 floats into a model of/);
  });

  it('rejects configs with every bad field listed', () => {
    expect(() => new GPT({ ...TINY, dModel: 9, nLayers: 0 })).toThrow(/model.nLayers: must be a positive integer, got 0/);
    expect(() => new GPT({ ...TINY, dModel: 9 })).toThrow(/model.dModel: 9 is not divisible by nHeads 2/);
  });
});

describe.each(TEST_BACKENDS)('GPT forward on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('computes the logits and scores PyTorch computes from the same weights (peer architecture)', () => {
    // Reference: the peer's Block/GPT classes at these sizes, loaded with these exact weights (seed 11).
    const logits = take(new GPT(TINY, { seed: 11 }).logits(TWO_ROWS));
    expectClose(logits.slice(28, 35), [-0.57908, 0.567102, 0.458245, 0.306013, 0.674335, 0.03568, 0.200726], 1e-4, 2e-6);
    expectClose(logits.slice(35, 42), [-0.342874, 0.737969, 0.022515, -0.687129, -0.048991, -0.17499, 0.51403], 1e-4, 2e-6);
    expectClose(take(new GPT(TINY, { head: 'reward', seed: 11 }).scores(TWO_ROWS)), [0.713857, 0.706857], 1e-4, 2e-6);
  });

  it('a left-padded row computes what the unpadded row computes', () => {
    const model = new GPT(TINY, { seed: 2 });
    const plain = take(model.logits({ tokens: Int32Array.from([3, 1, 4]), batchSize: 1, length: 3 }));
    const padded = take(
      model.logits({ tokens: Int32Array.from([0, 0, 3, 1, 4]), batchSize: 1, length: 5, attentionMask: Int32Array.from([0, 0, 1, 1, 1]) }),
    );
    expectClose(padded.slice(2 * 7), plain, 1e-5, 1e-6);
  });

  it('KV-cache decoding gives the logits of full recomputation at every step', () => {
    const model = new GPT(TINY, { seed: 9 });
    const prompt = { tokens: Int32Array.from([0, 2, 5, 1, 3, 6]), batchSize: 2, length: 3, attentionMask: Int32Array.from([0, 1, 1, 1, 1, 1]) };
    const next = [Int32Array.from([4, 2]), Int32Array.from([6, 0])];
    const { output, cache } = model.prefill(prompt);
    const stepOutputs = [take(output)];
    for (const tokens of next) stepOutputs.push(take(model.decode(tokens, cache)));
    cache.dispose();
    const full = take(
      model.logits({
        tokens: Int32Array.from([0, 2, 5, 4, 6, 1, 3, 6, 2, 0]),
        batchSize: 2,
        length: 5,
        attentionMask: Int32Array.from([0, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      }),
    );
    const V = TINY.vocabSize;
    for (let step = 0; step < 3; step++) {
      const position = 2 + step;
      const expected = [...full.slice(position * V, (position + 1) * V), ...full.slice((5 + position) * V, (6 + position) * V)];
      expectClose(stepOutputs[step]!, expected, 1e-5, 1e-6);
    }
  });

  it('value head gives one number per token; reward head reads the last real token', () => {
    const values = new GPT(TINY, { head: 'value', seed: 1 }).values(TWO_ROWS);
    expect(values.shape).toEqual([2, 5]);
    values.dispose();
    const reward = new GPT(TINY, { head: 'reward', seed: 1 });
    const withPadding = take(reward.scores({ tokens: Int32Array.from([1, 2, 3, 0, 0]), batchSize: 1, length: 5, attentionMask: Int32Array.from([1, 1, 1, 0, 0]) }));
    const trimmed = take(reward.scores({ tokens: Int32Array.from([1, 2, 3]), batchSize: 1, length: 3 }));
    expectClose(withPadding, trimmed, 1e-5, 1e-6);
  });

  it('rejects bad inputs with the field named', () => {
    const model = new GPT(TINY);
    expect(() => model.logits({ tokens: Int32Array.from([1, 9]), batchSize: 1, length: 2 })).toThrow(/token id 9 at index 1 is outside the vocabulary \[0, 7\)/);
    expect(() => model.logits({ tokens: new Int32Array(9), batchSize: 1, length: 9 })).toThrow(/exceeds the context length 8/);
    expect(() => model.values(TWO_ROWS)).toThrow(/values\(\) needs a 'value' head; this model has a 'language' head/);
  });
});
