/**
 * One conformance suite that every accelerated tensor backend runs against tfjs's plain JavaScript `cpu`
 * backend, the reference (the pattern of hono's `router/common.case.test.ts`): the same inputs go through the
 * ops the models use (matrix products, the linear layer, causal attention with and without a KV cache,
 * LayerNorm, GELU, softmax / log-softmax), forward and backward, then the bench-S GPT's logits, KV-cache
 * decoding with sampling, and one training step. Results are read with `await tensor.data()`, the read every
 * backend supports.
 *
 * On `cpu` the ops run our fused host kernels with their `registerGradient` backward kernels; on `webgpu`
 * they run the composed tfjs versions differentiated by tfjs. Agreement therefore checks two different
 * implementations of every op and both gradient mechanisms (registered kernel gradients and `customGrad`).
 *
 * Tolerances (element-wise |actual - cpu| <= atol + rtol |cpu|): both sides compute in float32, so they differ
 * by summation order (a GPU reduces in tiles, the cpu backend in sequence) and by the exp / erf
 * implementations. A float32 dot product of length K has a rounding error bounded by about K * 2^-24 times the
 * sum of |terms|; for K <= 512 that is ~3e-5 relative to the terms, which is where `rtol` 1e-4 and `atol` 1e-5
 * (inputs of unit scale) come from. Gradients through a whole GPT accumulate more such sums and get 1e-3
 * relative. The maxima measured on each run are printed after the suite (one line) so drift is visible.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ppoPolicyLoss, sftLoss } from '../../algorithms/index.ts';
import { Adam, BENCH_S, GPT, Rng, computeGradientsAsync } from '../../models/index.ts';
import { causalAttention } from '../../models/ops/attention.ts';
import { gelu } from '../../models/ops/gelu.ts';
import { layerNorm } from '../../models/ops/layer-norm.ts';
import { linear } from '../../models/ops/linear.ts';
import { actionLogProbs, generate } from '../../rollout/index.ts';
import { expectClose } from './backends.ts';

/** Relative and absolute tolerance of one comparison. */
interface Tolerance {
  rtol: number;
  atol: number;
}

const OPS: Tolerance = { rtol: 1e-4, atol: 1e-5 };
const MODEL: Tolerance = { rtol: 1e-4, atol: 1e-4 };
const MODEL_GRADIENTS: Tolerance = { rtol: 1e-3, atol: 1e-5 };

/** Deterministic N(0, scale^2) values, the same on every backend. */
function normals(count: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: count }, () => rng.normal() * scale);
}

/**
 * Registers the suite. `start` must leave `backend` active (e.g. `initEngine({ backend: 'webgpu' })`); the
 * suite switches to `cpu` for each reference value and back.
 */
export function backendConformance(backend: 'webgpu' | 'wasm', start: () => Promise<void>): void {
  /** Largest |actual - cpu| seen per case, printed after the suite. */
  const measured: Record<string, number> = {};

  /** Runs `compute` on `backend` and on `cpu` and compares every output tensor. */
  async function agree(name: string, compute: () => tf.Tensor[], tolerance: Tolerance): Promise<void> {
    const actual = await readAll(compute);
    await tf.setBackend('cpu');
    try {
      const expected = await readAll(compute);
      expect(actual.length).toBe(expected.length);
      let largest = 0;
      for (let i = 0; i < actual.length; i++) {
        for (let j = 0; j < actual[i]!.length; j++) largest = Math.max(largest, Math.abs(actual[i]![j]! - expected[i]![j]!));
        expectClose(actual[i]!, expected[i]!, tolerance.rtol, tolerance.atol);
      }
      measured[name] = largest;
    } finally {
      await tf.setBackend(backend);
    }
  }

  /** Runs `compute` on `backend` and on `cpu`; returns both results. */
  async function onBoth<T>(compute: () => Promise<T>): Promise<{ actual: T; expected: T }> {
    const actual = await compute();
    await tf.setBackend('cpu');
    try {
      return { actual, expected: await compute() };
    } finally {
      await tf.setBackend(backend);
    }
  }

  describe(`${backend} backend conformance (against cpu)`, () => {
    beforeAll(async () => {
      await start();
      expect(tf.getBackend()).toBe(backend);
    });
    afterAll(() => {
      const rounded = Object.fromEntries(Object.entries(measured).map(([name, diff]) => [name, Number(diff.toPrecision(2))]));
      console.info(`${backend} vs cpu, largest |difference| per case: ${JSON.stringify(rounded)}`);
    });

    it('matMul: plain, transposed and batched products agree', async () => {
      const a = normals(33 * 70, 1);
      const b = normals(70 * 45, 2);
      const batchedA = normals(2 * 3 * 9 * 17, 3);
      const batchedB = normals(2 * 3 * 17 * 11, 4);
      await agree(
        'matMul',
        () => [
          tf.matMul(tf.tensor2d(a, [33, 70]), tf.tensor2d(b, [70, 45])),
          tf.matMul(tf.tensor2d(a, [33, 70]), tf.transpose(tf.tensor2d(b, [70, 45])), false, true),
          tf.matMul(tf.tensor4d(batchedA, [2, 3, 9, 17]), tf.tensor4d(batchedB, [2, 3, 17, 11])),
        ],
        OPS,
      );
    });

    it('linear: forward and the gradients of input, weight and bias agree', async () => {
      const [x, weight, bias, upstream] = [normals(24 * 40, 5), normals(40 * 56, 6, 0.2), normals(56, 7), normals(24 * 56, 8)];
      await agree(
        'linear',
        () => {
          const inputs = [tf.tensor2d(x, [24, 40]), tf.tensor2d(weight, [40, 56]), tf.tensor1d(bias)] as const;
          const forward = (input: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => linear(input as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
          const gradients = tf.grads((input, w, b) => tf.sum(tf.mul(forward(input!, w!, b!), tf.tensor2d(upstream, [24, 56]))))([...inputs]);
          return [forward(...inputs), ...gradients];
        },
        OPS,
      );
    });

    it('causal attention: forward with padding, its gradient, and a KV-cache step agree', async () => {
      const [heads, width, length] = [4, 16, 7];
      const qkv = normals(2 * length * 3 * width, 9);
      const upstream = normals(2 * length * width, 10);
      /** row 0 left-padded by two slots */
      const keyMask = Float32Array.from({ length: 2 * length }, (_, i) => (i < 2 ? 0 : 1));
      const cache = normals(2 * 6 * 2 * width, 11);
      const step = normals(2 * 1 * 3 * width, 12);
      await agree(
        'attention',
        () => {
          const attend = (input: tf.Tensor) => causalAttention(input as tf.Tensor3D, tf.tensor2d(keyMask, [2, length]), { heads });
          const input = tf.tensor3d(qkv, [2, length, 3 * width]);
          const [gradient] = tf.grads((q) => tf.sum(tf.mul(attend(q!), tf.tensor3d(upstream, [2, length, width]))))([input]);
          const cached = causalAttention(tf.tensor3d(step, [2, 1, 3 * width]), tf.ones([2, 7]) as tf.Tensor2D, { heads, cache: tf.tensor3d(cache, [2, 6, 2 * width]) });
          return [attend(input), gradient!, cached];
        },
        OPS,
      );
    });

    it('layerNorm: forward and the gradients of input, weight and bias agree', async () => {
      const [x, weight, bias, upstream] = [normals(10 * 48, 13, 3), normals(48, 14), normals(48, 15), normals(10 * 48, 16)];
      await agree(
        'layerNorm',
        () => {
          const inputs = [tf.tensor2d(x, [10, 48]), tf.tensor1d(weight), tf.tensor1d(bias)];
          const normalize = (input: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => layerNorm(input, w as tf.Tensor1D, b as tf.Tensor1D);
          const gradients = tf.grads((input, w, b) => tf.sum(tf.mul(normalize(input!, w!, b!), tf.tensor2d(upstream, [10, 48]))))(inputs);
          return [normalize(inputs[0]!, inputs[1]!, inputs[2]!), ...gradients];
        },
        OPS,
      );
    });

    it('gelu: forward and gradient agree, the negative tail included', async () => {
      const x = Float32Array.from({ length: 241 }, (_, i) => -9 + i * 0.075);
      await agree('gelu', () => [gelu(tf.tensor1d(x)), tf.grad((input) => tf.sum(gelu(input)))(tf.tensor1d(x))], OPS);
    });

    it('softmax and log-softmax: forward and gradients agree on large logits', async () => {
      const logits = normals(6 * 64, 17, 8);
      const upstream = normals(6 * 64, 18);
      await agree(
        'softmax',
        () => {
          const input = tf.tensor2d(logits, [6, 64]);
          const weights = tf.tensor2d(upstream, [6, 64]);
          return [
            tf.softmax(input),
            tf.logSoftmax(input),
            tf.grad((z) => tf.sum(tf.mul(tf.softmax(z), weights)))(input),
            tf.grad((z) => tf.sum(tf.mul(tf.logSoftmax(z), weights)))(input),
          ];
        },
        OPS,
      );
    });

    const tokens = Int32Array.from({ length: 2 * 12 }, (_, i) => (i * 7 + 3) % BENCH_S.vocabSize);
    /** row 1 left-padded by three slots */
    const attentionMask = Int32Array.from({ length: 2 * 12 }, (_, i) => (i >= 12 && i < 15 ? 0 : 1));

    /** Runs `use` on a fresh bench-S GPT (same seed, same weights): a model's tensors live on one backend. */
    const withModel = <T>(seed: number, use: (model: GPT) => T): T => {
      const model = new GPT(BENCH_S, { seed });
      try {
        return use(model);
      } finally {
        model.dispose();
      }
    };

    it('the bench-S GPT gives the same logits', async () => {
      await agree('gptLogits', () => withModel(3, (model) => [model.logits({ tokens, batchSize: 2, length: 12, attentionMask })]), MODEL);
    });

    it('KV-cache decoding gives the same logits step by step and samples the same tokens', async () => {
      await agree(
        'kvCacheDecode',
        () =>
          withModel(4, (model) => {
            const { output, cache } = model.prefill({ tokens, batchSize: 2, length: 12, attentionMask }, 16);
            const outputs: tf.Tensor[] = [output];
            for (const next of [[5, 9], [11, 4], [7, 7]]) outputs.push(model.decode(Int32Array.from(next), cache));
            cache.dispose();
            return outputs;
          }),
        MODEL,
      );
      const { actual, expected } = await onBoth(async () => {
        const model = new GPT(BENCH_S, { seed: 4 });
        try {
          return await generate(model, { tokens, batchSize: 2, length: 12, attentionMask }, { maxNewTokens: 6, rng: new Rng(5) });
        } finally {
          model.dispose();
        }
      });
      expect(Array.from(actual.sequences)).toEqual(Array.from(expected.sequences));
      expectClose(actual.logProbs, expected.logProbs, MODEL.rtol, MODEL.atol);
    });

    it('one training step (PPO + SFT loss, gradients, Adam) gives the same loss, gradients and next loss', async () => {
      const batch = { batchSize: 2, promptLength: 12, responseLength: 0, sequences: tokens, attentionMask };
      const lossOf = (model: GPT) => () => {
        const targets = tf.tensor2d(Int32Array.from(tokens, (token) => (token + 1) % BENCH_S.vocabSize), [2, 12], 'int32');
        const mask = tf.tensor2d(Float32Array.from(attentionMask), [2, 12]);
        const sft = sftLoss(model.logits({ tokens, batchSize: 2, length: 12, attentionMask }), targets, mask);
        const logProbs = actionLogProbs(model, { ...batch, promptLength: 6, responseLength: 6 });
        const advantages = tf.tensor2d(normals(12, 19), [2, 6]);
        const ppo = ppoPolicyLoss(logProbs, tf.fill([2, 6], -4.1), advantages, tf.ones([2, 6]), { clipLow: 0.2, clipHigh: 0.2 }).loss;
        return tf.add(sft, ppo) as tf.Scalar;
      };
      const { actual, expected } = await onBoth(async () => {
        const model = new GPT(BENCH_S, { seed: 6 });
        try {
          const first = await computeGradientsAsync(model, lossOf(model));
          new Adam(model.parameters.size, { learningRate: 1e-3 }).step(model.parameters.data, first.gradients.slice());
          model.refresh();
          const second = await computeGradientsAsync(model, lossOf(model));
          return { first, second };
        } finally {
          model.dispose();
        }
      });
      expectClose(actual.first.loss, expected.first.loss, MODEL.rtol, MODEL.atol);
      expectClose(actual.first.gradients, expected.first.gradients, MODEL_GRADIENTS.rtol, MODEL_GRADIENTS.atol);
      expectClose(actual.second.loss, expected.second.loss, MODEL.rtol, MODEL.atol);
      expect(actual.second.loss).toBeLessThan(actual.first.loss);
      let largest = 0;
      for (let i = 0; i < actual.first.gradients.length; i++) largest = Math.max(largest, Math.abs(actual.first.gradients[i]! - expected.first.gradients[i]!));
      measured.trainingStepGradients = largest;
      measured.trainingStepLoss = Math.abs(actual.second.loss - expected.second.loss);
    });
  });
}

/** Runs `compute` in a tidy scope and reads every output with `await data()`. */
async function readAll(compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  const outputs = tf.tidy(compute);
  try {
    return await Promise.all(outputs.map(async (tensor) => Float32Array.from(await tensor.data())));
  } finally {
    tf.dispose(outputs);
  }
}
