/**
 * The HF decoder plugs into what already hosts the bench-S GPT through the CausalModel interface: rollout's
 * `generate` (greedy, temperature 0) reproduces transformers' greedy tokens on a left-padded batch, and
 * `createModel` builds either architecture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../../models/model-spec.ts';
import { GPT } from '../../../models/gpt.ts';
import { BENCH_S } from '../../../models/gpt-config.ts';
import { HfDecoder } from '../../../models/hf/decoder.ts';
import { loadPretrained } from '../../../models/hf/pretrained.ts';
import { Rng } from '../../../models/rng.ts';
import { generate } from '../../../rollout/generate.ts';
import { useBackend } from '../backends.ts';
import { FIXTURES } from './hf-fixtures.ts';

beforeAll(() => useBackend('wasm'));

describe('CausalModel', () => {
  it("rollout's generate on an HF decoder gives transformers' greedy continuation of a left-padded batch", async () => {
    const { decoder } = await loadPretrained(join(FIXTURES, 'qwen3'));
    const batch = JSON.parse(readFileSync(join(FIXTURES, 'qwen3/expected.json'), 'utf8')).cases.batch;
    const ids: number[][] = batch.input_ids;
    const generation = await generate(
      decoder,
      { tokens: Int32Array.from(ids.flat()), batchSize: ids.length, length: ids[0]!.length, attentionMask: Int32Array.from((batch.attention_mask as number[][]).flat()) },
      { maxNewTokens: batch.greedy.max_new_tokens, rng: new Rng(1), temperature: 0 },
    );
    const rows = ids.map((_, b) => Array.from(generation.sequences.subarray(b * generation.sequences.length / ids.length, (b + 1) * generation.sequences.length / ids.length)));
    expect(rows).toEqual(batch.greedy.sequences);
    decoder.dispose();
  });

  it('createModel builds the bench-S GPT from its sizes and the HF decoder from a folder, a missing head fresh from the seed', () => {
    expect(createModel({ kind: 'gpt', config: BENCH_S }, 'language', 1)).toBeInstanceOf(GPT);
    const spec = { kind: 'hf' as const, directory: join(FIXTURES, 'llama-tied') };
    const critic = createModel(spec, 'value', 2);
    expect(critic).toBeInstanceOf(HfDecoder);
    expect(createModel(spec, 'value', 2).parameters.checksum()).toBe(critic.parameters.checksum());
    expect(createModel(spec, 'value', 3).parameters.checksum()).not.toBe(critic.parameters.checksum());
  });
});

describe('tensor hygiene', () => {
  it('forward and generate leave no tensors behind beyond the model\'s own', async () => {
    const model = await loadPretrained(join(FIXTURES, 'llama-tied'));
    const inputIds = [[0, 5, 6, 7], [8, 9, 10, 11]];
    const attentionMask = [[0, 1, 1, 1], [1, 1, 1, 1]];
    const warm = await model.forward({ inputIds, attentionMask });
    warm.logits.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const { logits } = await model.forward({ inputIds, attentionMask });
      logits.dispose();
      await model.generate({ inputIds, attentionMask, maxNewTokens: 3 });
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
