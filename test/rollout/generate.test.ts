import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GPT, Rng } from '../../models/index.ts';
import { actionLogProbs, generate, scoreInChunks } from '../../rollout/index.ts';
import { expectClose, useBackend } from '../models/backends.ts';

const CONFIG = { vocabSize: 12, contextLength: 16, dModel: 16, nHeads: 2, nLayers: 2 };
const EOS = 1;
const PAD = 0;
/** Three left-padded prompts of 4 slots. */
const PROMPTS = {
  tokens: Int32Array.from([0, 0, 5, 6, 2, 3, 4, 5, 0, 7, 8, 9]),
  batchSize: 3,
  length: 4,
  attentionMask: Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1]),
};

describe('generate on wasm', () => {
  let model: GPT;
  beforeAll(async () => {
    await useBackend('wasm');
    model = new GPT(CONFIG, { seed: 4 });
  });

  it('the same seed gives the same samples; another seed other samples', async () => {
    const a = await generate(model, PROMPTS, { maxNewTokens: 8, rng: new Rng(3) });
    const b = await generate(model, PROMPTS, { maxNewTokens: 8, rng: new Rng(3) });
    const c = await generate(model, PROMPTS, { maxNewTokens: 8, rng: new Rng(4) });
    expect(b.sequences).toEqual(a.sequences);
    expect(b.logProbs).toEqual(a.logProbs);
    expect(c.sequences).not.toEqual(a.sequences);
    expect(a.sequences.slice(0, 4)).toEqual(PROMPTS.tokens.slice(0, 4));
  });

  it('top-k 1, temperature 0 and tiny top-p are greedy (and independent of the seed)', async () => {
    const greedy = await generate(model, PROMPTS, { maxNewTokens: 6, rng: new Rng(1), temperature: 0 });
    for (const options of [{ topK: 1 }, { topP: 1e-7 }]) {
      const other = await generate(model, PROMPTS, { maxNewTokens: 6, rng: new Rng(99), ...options });
      expect(other.sequences).toEqual(greedy.sequences);
    }
  });

  it('returned log-probs equal a full recomputation of log pi(a_t | s_t) (KV cache == recompute)', async () => {
    const rollout = await generate(model, PROMPTS, { maxNewTokens: 8, rng: new Rng(5), topK: 5, temperature: 0.8 });
    const recomputed = await scoreInChunks(rollout, 2, (chunk) => actionLogProbs(model, chunk));
    expectClose(recomputed, rollout.logProbs, 1e-4, 1e-5);
    // Sampling used temperature 0.8 and top-k 5: the behaviour log-probs differ from the policy's.
    expect(rollout.samplingLogProbs).not.toEqual(rollout.logProbs);
  });

  it('rows stop at EOS: EOS kept with action mask 1, then PAD with masks 0 and log-prob 0', async () => {
    // Bias the head so that EOS is likely: some rows end early, some do not.
    const biased = new GPT(CONFIG, { seed: 4 });
    biased.parameters.view('head.bias')[EOS] = 2.2;
    const rollout = await generate(biased, PROMPTS, { maxNewTokens: 8, rng: new Rng(11), eosToken: EOS, padToken: PAD });
    let stoppedRows = 0;
    for (let b = 0; b < 3; b++) {
      const response = Array.from(rollout.sequences.slice(b * 12 + 4, (b + 1) * 12));
      const eosAt = response.indexOf(EOS);
      const length = eosAt === -1 ? 8 : eosAt + 1;
      expect(rollout.responseLengths[b]).toBe(length);
      for (let t = 0; t < 8; t++) {
        const real = t < length;
        expect(rollout.actionMask[b * 8 + t]).toBe(real ? 1 : 0);
        expect(rollout.attentionMask[b * 12 + 4 + t]).toBe(real ? 1 : 0);
        if (!real) {
          expect(response[t]).toBe(PAD);
          expect(rollout.logProbs[b * 8 + t]).toBe(0);
        }
      }
      if (eosAt !== -1 && eosAt < 7) stoppedRows++;
    }
    expect(stoppedRows).toBeGreaterThan(0);
    biased.dispose();
  });

  it('frees every tensor it creates', async () => {
    model.parameterTensors();
    const before = tf.memory().numTensors;
    await generate(model, PROMPTS, { maxNewTokens: 5, rng: new Rng(2) });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options with the field named', async () => {
    await expect(generate(model, PROMPTS, { maxNewTokens: 13, rng: new Rng(1) })).rejects.toThrow(
      /rollout.maxNewTokens: prompt length 4 \+ maxNewTokens 13 exceeds the model's context length 16/,
    );
    await expect(generate(model, PROMPTS, { maxNewTokens: 2, rng: new Rng(1), topP: 0 })).rejects.toThrow(/rollout.topP: must be in \(0, 1\], got 0/);
    await expect(generate(model, PROMPTS, { maxNewTokens: 2, rng: new Rng(1), eosToken: 12 })).rejects.toThrow(/rollout.eosToken: must be a token id in \[0, 12\)/);
  });
});
