/**
 * The native kernels of the OpenBLAS addon compute what the tfjs kernels they replace compute:
 * - tfjs-cpu's Transpose, Slice, SplitV, Add, Sub, Multiply and RealDiv (kernels/native-cpu-kernels.ts), against
 *   tfjs-cpu's own kernels (bit-identical: the same float32 arithmetic, the same copies);
 * - the fused token log-probs (kernels/token-log-probs.ts), values and gradients, against the composed
 *   log-softmax + one-hot ops on tfjs-cpu, on wasm and cpu;
 * - the native sampling order (rollout/sampling.ts candidateOrder) against its JavaScript path, exactly.
 * In CI (which installs libopenblas-dev) a missing addon FAILS; elsewhere these tests are skipped loudly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setFusedKernels } from '../../models/kernels/host-kernel.ts';
import { loadBlasAddon } from '../../models/kernels/blas/blas-addon.ts';
import { setNativeCpuKernels } from '../../models/kernels/native-cpu-kernels.ts';
import { composedTokenLogProbs, tokenLogProbs } from '../../models/kernels/token-log-probs.ts';
import { Rng } from '../../models/rng.ts';
import { candidateOrder, sampleToken, setNativeSampling } from '../../rollout/sampling.ts';
import { TEST_BACKENDS, expectClose, useBackend } from './backends.ts';

const rng = new Rng(11);
const random = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);

const addonMissing = loadBlasAddon().addon ? undefined : (loadBlasAddon() as { reason: string }).reason;

function describeWithAddon(name: string, body: () => void): void {
  if (!addonMissing) {
    describe(name, body);
    return;
  }
  const reason = `the OpenBLAS addon is not loaded (${addonMissing}); install libopenblas-dev and pkg-config, then npm run build:blas`;
  if (process.env.CI === 'true') {
    describe(name, () => it('needs the OpenBLAS addon (CI installs libopenblas-dev)', () => expect.fail(reason)));
    return;
  }
  console.warn(`\n!!!!! SKIPPING native kernel tests "${name}": ${reason}\n`);
  describe.skip(name, body);
}

/** The op's outputs with the native kernels, then with tfjs-cpu's own, as arrays with their shapes. */
function nativeAndTfjs(op: () => tf.Tensor | tf.Tensor[]): [unknown, unknown] {
  const run = () =>
    tf.tidy(() => {
      const result = op();
      return (Array.isArray(result) ? result : [result]).map((tensor) => ({ shape: tensor.shape, dtype: tensor.dtype, values: Array.from(tensor.dataSync()) }));
    });
  setNativeCpuKernels(true);
  const native = run();
  setNativeCpuKernels(false);
  const tfjs = run();
  setNativeCpuKernels(true);
  return [native, tfjs];
}

describeWithAddon('native tfjs-cpu kernels equal tfjs-cpu kernels exactly', () => {
  beforeAll(() => useBackend('cpu'));
  afterEach(() => setNativeCpuKernels(true));

  it.each([
    [[3, 5], [1, 0]],
    [[1, 1], [1, 0]],
    [[70, 45], [1, 0]],
    [[2, 3, 4], [0, 2, 1]],
    [[2, 3, 4], [2, 0, 1]],
    [[2, 3, 4, 5], [0, 2, 1, 3]],
    [[2, 3, 4, 5], [3, 1, 0, 2]],
    [[2, 1, 3, 1, 2], [4, 3, 2, 1, 0]],
  ])('transpose of %j by %j (float32 and int32)', (shape, perm) => {
    const x = random(shape);
    const [native, tfjs] = nativeAndTfjs(() => [tf.transpose(x, perm), tf.transpose(tf.cast(tf.mul(x, 100), 'int32'), perm)]);
    expect(native).toEqual(tfjs);
  });

  it.each([
    [[4, 6], [1, 2], [2, 3]],
    [[4, 6, 5], [0, 1, 2], [4, 3, 2]],
    [[3, 4, 5, 6], [1, 0, 1, 3], [2, 4, 3, 2]],
    [[3, 4], [0, 0], [0, 4]],
  ])('slice of %j at %j size %j', (shape, begin, size) => {
    const x = random(shape);
    const [native, tfjs] = nativeAndTfjs(() => [tf.slice(x, begin, size), tf.slice(tf.cast(x, 'int32'), begin, size)]);
    expect(native).toEqual(tfjs);
  });

  it.each([
    [[6, 4, 8], 2, 2],
    [[6, 4, 8], [3, 1, 4], 2],
    [[6, 4, 8], [2, 2], 1],
    [[6, 9], 3, 1],
  ])('split of %j into %j along %i', (shape, splits, axis) => {
    const x = random(shape);
    const [native, tfjs] = nativeAndTfjs(() => tf.split(x, splits as number | number[], axis));
    expect(native).toEqual(tfjs);
  });

  it.each([
    [[[2, 3], [2, 5]], 1],
    [[[2, 3], [4, 3], [1, 3]], 0],
    [[[2, 3, 4], [2, 1, 4], [2, 2, 4]], 1],
    [[[2, 3, 4], [2, 3, 1]], 2],
    [[[2, 3, 4], [2, 0, 4]], 1],
  ])('concat of %j along %i (float32 and int32)', (shapes, axis) => {
    const parts = (shapes as number[][]).map(random);
    const [native, tfjs] = nativeAndTfjs(() => [tf.concat(parts, axis as number), tf.concat(parts.map((part) => tf.cast(tf.mul(part, 10), 'int32')), axis as number)]);
    expect(native).toEqual(tfjs);
  });

  const pairs: [number[], number[]][] = [
    [[5, 7], [5, 7]],
    [[5, 7], [7]],
    [[5, 1], [1, 7]],
    [[4, 3, 8], [4, 1, 8]],
    [[4, 1, 8], [4, 3, 8]],
    [[2, 3, 4, 5], [3, 1, 5]],
    [[6], []],
    [[], [6]],
    [[2, 1, 3, 1, 2, 1], [1, 4, 1, 5, 1, 3]],
  ];
  it.each(pairs)('add, sub, mul, div of %j and %j', (aShape, bShape) => {
    const a = random(aShape);
    const b = tf.add(random(bShape), 3);
    const [native, tfjs] = nativeAndTfjs(() => [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.div(a, b)]);
    expect(native).toEqual(tfjs);
  });

  it.each([[[7, 9]], [[2, 3, 5]], [[]], [[4, 1]]])('neg, square, mean over trailing axes of %j (exactly); sigmoid within 1 ulp', (shape) => {
    const x = tf.mul(random(shape), 4);
    const rank = shape.length;
    const [native, tfjs] = nativeAndTfjs(() => [
      tf.neg(x),
      tf.square(x),
      ...(rank ? [tf.mean(x, -1, true), tf.mean(x, -1), tf.mean(x, Array.from({ length: rank }, (_, i) => i)), tf.mean(x, 0)] : [tf.mean(x)]),
    ]);
    expect(native).toEqual(tfjs);
    const [sigmoidNative, sigmoidTfjs] = nativeAndTfjs(() => tf.sigmoid(x)) as { values: number[] }[][];
    expectClose(sigmoidNative![0]!.values, sigmoidTfjs![0]!.values, 2 ** -23, 0);
  });

  it.each([
    [[7, 9], [0]],
    [[7, 9], [1]],
    [[2, 3, 5], [0, 1]],
    [[2, 3, 5], [1]],
    [[2, 3, 5], [0, 2]],
    [[4, 1, 6], [0, 1, 2]],
    [[5], [0]],
  ])('sum of %j over axes %j (exactly, with and without keepDims)', (shape, axes) => {
    const x = tf.mul(random(shape), 4);
    const [native, tfjs] = nativeAndTfjs(() => [tf.sum(x, axes), tf.sum(x, axes, true), tf.sum(x)]);
    expect(native).toEqual(tfjs);
  });

  it('leaves other dtypes to tfjs (int32 arithmetic, bool)', () => {
    const [native, tfjs] = nativeAndTfjs(() => [tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')), tf.transpose(tf.tensor2d([[true, false]], [1, 2], 'bool'))]);
    expect(native).toEqual(tfjs);
  });
});

/** Values and logits-gradients of (logProbs, entropy) for a fixed upstream gradient. */
function logProbsAndGradients(
  fn: typeof tokenLogProbs,
  [logits, targets, upstream, upstreamEntropy]: tf.Tensor[],
  temperature: number,
  entropy: boolean,
): number[][] {
  return tf.tidy(() => {
    const { value, grads } = tf.engine().gradients(() => {
      const result = fn(logits!, targets!, { temperature, entropy });
      const loss = tf.sum(tf.mul(result.logProbs, upstream!));
      return (entropy ? tf.add(loss, tf.sum(tf.mul(result.entropy!, upstreamEntropy!))) : loss) as tf.Scalar;
    }, [logits!]);
    const result = fn(logits!, targets!, { temperature, entropy });
    return [Array.from(result.logProbs.dataSync()), ...(entropy ? [Array.from(result.entropy!.dataSync())] : []), Array.from(grads[0]!.dataSync()), [value.dataSync()[0]!]];
  });
}

const composed: typeof tokenLogProbs = (logits, targets, options = {}) => composedTokenLogProbs(logits, targets, options.temperature, options.entropy);

describeWithAddon('fused token log-probs', () => {
  afterEach(() => setFusedKernels(true));

  it('log softmax of the target, hand-computed', async () => {
    await useBackend('cpu');
    const { logProbs } = tokenLogProbs(tf.tensor2d([[0, 0], [1, 3]]), tf.tensor1d([1, 0], 'int32'));
    expectClose(await logProbs.data(), [-Math.log(2), 1 - 3 - Math.log(1 + Math.exp(-2))], 1e-6, 1e-6);
  });

  describe.each(TEST_BACKENDS)('equals log-softmax + one-hot on %s (values and gradients)', (backend) => {
    beforeAll(() => useBackend(backend));

    it.each([
      [[3, 5], 1, false],
      [[2, 4, 97], 1, true],
      [[2, 3, 50], 0.7, true],
      [[1, 1, 2000], 1.3, false],
    ])('logits %j at temperature %f (entropy: %s)', async (shape, temperature, entropy) => {
      const logits = tf.mul(random(shape), 3);
      const vocab = shape[shape.length - 1]!;
      const targetShape = shape.slice(0, -1);
      const targets = tf.tensor(Array.from({ length: targetShape.reduce((a, b) => a * b, 1) }, () => Math.floor(rng.uniform() * vocab)), targetShape, 'int32');
      const inputs = [logits, targets, random(targetShape), random(targetShape)];
      const fused = logProbsAndGradients(tokenLogProbs, inputs, temperature, entropy);
      await tf.setBackend('cpu');
      setFusedKernels(false);
      const reference = logProbsAndGradients(composed, inputs, temperature, entropy);
      setFusedKernels(true);
      await tf.setBackend(backend);
      expect(fused.length).toBe(reference.length);
      fused.forEach((values, i) => expectClose(values, reference[i]!, 1e-4, 1e-5));
      tf.dispose(inputs);
    });
  });

  it('names the input that is wrong', async () => {
    await useBackend('cpu');
    expect(() => tokenLogProbs(tf.zeros([2, 3]), tf.tensor1d([0, 1, 2], 'int32'))).toThrow(/targets must be int32 of shape \[2\]/);
    expect(() => tokenLogProbs(tf.zeros([2, 3]), tf.tensor1d([0, 1], 'int32'), { temperature: 0 })).toThrow(/temperature must be a positive number/);
  });
});

describeWithAddon('native sampling order', () => {
  afterEach(() => setNativeSampling(true));

  /** The order (and a few samples) with the addon, then in JavaScript. */
  function nativeAndJavaScript(logits: Float32Array, offset: number, vocab: number, limit: number): [unknown, unknown] {
    const run = () => ({
      order: Array.from(candidateOrder(logits, offset, vocab, limit)),
      samples: [0, 0.3, 0.999].map((u) => sampleToken(logits, offset, vocab, { topK: limit === vocab ? 0 : limit, topP: 0.9 }, u)),
    });
    setNativeSampling(true);
    const native = run();
    setNativeSampling(false);
    const javaScript = run();
    return [native, javaScript];
  }

  it.each([1, 5, 97])('equals the JavaScript order with ties, -0, negatives and infinities, limit %i of 97', (limit) => {
    const logits = new Float32Array(3 + 97);
    for (let i = 0; i < logits.length; i++) logits[i] = Math.round(rng.normal() * 3) / 2; // many ties
    logits.set([-0, 0, -Infinity, Infinity, -1e-30, 1e-30], 10);
    const [native, javaScript] = nativeAndJavaScript(logits, 3, 97, limit);
    expect(native).toEqual(javaScript);
  });

  it('equals the JavaScript order at a 49k vocabulary', () => {
    const logits = Float32Array.from({ length: 49152 }, () => rng.normal() * 4);
    const [native, javaScript] = nativeAndJavaScript(logits, 0, 49152, 49152);
    expect(native).toEqual(javaScript);
  });
});
