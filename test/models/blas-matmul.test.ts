/**
 * OpenBLAS behind tfjs's matMul (models/kernels/blas/) computes what tfjs's own kernels compute: values and
 * gradients of plain, transposed, batched, broadcast and fused (bias) products, and of the dense layer, on wasm
 * and on cpu. The reference is tfjs's plain `cpu` kernels (tfjs-wasm's own fused product with both operands
 * transposed and a bias is wrong in 4.22: it differs from cpu by up to 1.3 on 7-term sums). In CI (which installs libopenblas-dev) a missing addon FAILS; elsewhere these tests are
 * skipped loudly with the reason.
 */
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blasMatMulActive, engineChoice, setBlasMatMul } from '../../models/index.ts';
import { loadBlasAddon } from '../../models/kernels/blas/blas-addon.ts';
import { linear } from '../../models/ops/linear.ts';
import { Rng } from '../../models/rng.ts';
import { TEST_BACKENDS, expectClose, useBackend } from './backends.ts';

const rng = new Rng(5);
const random = (shape: number[]) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());

/**
 * Output and (with `gradients`) the gradient of every input for a fixed random upstream gradient. tfjs cannot
 * differentiate a product whose batch broadcasts (its BatchMatMul gradient keeps the broadcast shape).
 */
function evaluate(op: (...inputs: tf.Tensor[]) => tf.Tensor, shapes: number[][], values: number[][], upstream: number[], gradients: boolean): number[][] {
  return tf.tidy(() => {
    const inputs = shapes.map((shape, i) => tf.tensor(values[i]!, shape));
    const output = Array.from(op(...inputs).dataSync());
    if (!gradients) return [output];
    const { value, grads } = tf.engine().gradients(() => {
      const out = op(...inputs);
      return tf.sum(tf.mul(out, tf.reshape(tf.tensor(upstream), out.shape))) as tf.Scalar;
    }, inputs);
    return [output, ...grads.map((gradient) => Array.from(gradient.dataSync())), [value.dataSync()[0]!]];
  });
}

/** BLAS on the active backend == tfjs's plain cpu kernels, on random inputs of `shapes`. */
async function expectBlasEqualsTfjs(op: (...inputs: tf.Tensor[]) => tf.Tensor, shapes: number[][], gradients = true): Promise<void> {
  const backend = tf.getBackend();
  const values = shapes.map(random);
  const outputSize = tf.tidy(() => op(...shapes.map((shape, i) => tf.tensor(values[i]!, shape))).size);
  const upstream = random([outputSize]);
  setBlasMatMul(true);
  const blas = evaluate(op, shapes, values, upstream, gradients);
  setBlasMatMul(false);
  await tf.setBackend('cpu');
  const plain = evaluate(op, shapes, values, upstream, gradients);
  await tf.setBackend(backend);
  setBlasMatMul(true);
  expect(blas.length).toBe(plain.length);
  blas.forEach((result, i) => expectClose(result, plain[i]!, 1e-4, 1e-4));
}

const addonMissing = loadBlasAddon().addon ? undefined : (loadBlasAddon() as { reason: string }).reason;

function describeWithBlas(name: string, body: () => void): void {
  if (!addonMissing) {
    describe(name, body);
    return;
  }
  const reason = `the OpenBLAS addon is not loaded (${addonMissing}); install libopenblas-dev and pkg-config, then npm run build:blas`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs the OpenBLAS addon (CI installs libopenblas-dev)', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  console.warn(`\n!!!!! SKIPPING OpenBLAS tests "${name}": ${reason}\n`);
  describe.skip(name, body);
}

describeWithBlas('OpenBLAS matMul', () => {
  it('the engine multiplies on OpenBLAS with its thread count and says so', async () => {
    await useBackend('wasm');
    const choice = engineChoice()!;
    expect(choice.matmul).toMatch(/^OpenBLAS \d+\.\d+\.\d+ \((pthread|openmp|sequential), 1 thread, \w+\)$/);
    expect(choice.reason).toContain(`matmul: ${choice.matmul}`);
    expect(blasMatMulActive()).toBe(true);
  });

  describe.each(TEST_BACKENDS)('equals the tfjs kernels on %s (values and gradients)', (backend) => {
    beforeAll(() => useBackend(backend));
    afterEach(() => setBlasMatMul(true));

    it.each([
      [1, 1, 1],
      [7, 5, 3],
      [33, 17, 65],
      [64, 96, 128],
    ])('2-D products (%i x %i x %i) with every transpose', async (m, k, n) => {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          await expectBlasEqualsTfjs((a, b) => tf.matMul(a!, b!, transposeA, transposeB), [transposeA ? [k, m] : [m, k], transposeB ? [n, k] : [k, n]]);
        }
      }
    });

    it('batched products with transposes; broadcast batches (values only: tfjs cannot differentiate them)', async () => {
      await expectBlasEqualsTfjs((a, b) => tf.matMul(a!, b!), [[3, 8, 6], [3, 6, 5]]);
      await expectBlasEqualsTfjs((a, b) => tf.matMul(a!, b!, true, true), [[2, 3, 6, 8], [2, 3, 5, 6]]);
      await expectBlasEqualsTfjs((a, b) => tf.matMul(a!, b!, false, true), [[2, 3, 4, 5], [6, 5]], false);
      await expectBlasEqualsTfjs((a, b) => tf.matMul(a!, b!, true, false), [[5, 4], [3, 5, 6]], false);
      await expectBlasEqualsTfjs((a, b) => tf.matMul(a!, b!), [[1, 4, 5], [3, 5, 6]], false);
    });

    it('fused products with a bias, and an activation (left to tfjs)', async () => {
      await expectBlasEqualsTfjs((a, b, bias) => tf.fused.matMul({ a: a!, b: b!, bias: bias! }), [[9, 7], [7, 11], [11]]);
      await expectBlasEqualsTfjs((a, b, bias) => tf.fused.matMul({ a: a!, b: b!, bias: bias!, transposeA: true, transposeB: true }), [[7, 9], [11, 7], [11]]);
      await expectBlasEqualsTfjs((a, b, bias) => tf.fused.matMul({ a: a!, b: b!, bias: bias! }), [[2, 4, 7], [2, 7, 3], [1, 3]]);
      await expectBlasEqualsTfjs((a, b, bias) => tf.fused.matMul({ a: a!, b: b!, bias: bias!, activation: 'relu' }), [[9, 7], [7, 11], [11]]);
    });

    it('the dense layer (its backward takes transposes instead of copies) at model shapes', async () => {
      await expectBlasEqualsTfjs((x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), [[48, 64], [64, 192], [192]]);
      await expectBlasEqualsTfjs((x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), [[5, 3], [3, 1], [1]]);
    });

    it('wrong inner sizes still fail with tfjs\'s own message', () => {
      expect(() => tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5])))).toThrow(/inner shapes \(3\) and \(4\)/);
    });
  });
});

describe('matMul without the addon', () => {
  it('POSTTRAIN_BLAS=0 keeps tfjs-wasm and the engine log says why', () => {
    const script = [
      "import { initEngine } from './models/engine.ts';",
      "import * as tf from '@tensorflow/tfjs-core';",
      'const choice = await initEngine({ backend: "wasm", threads: 1 });',
      'const product = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]), true, false);',
      'console.log(JSON.stringify({ matmul: choice.matmul, reason: choice.reason, values: Array.from(product.dataSync()) }));',
    ].join('\n');
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      env: { ...process.env, POSTTRAIN_BLAS: '0', POSTTRAIN_LOG_LEVEL: 'silent' },
      encoding: 'utf8',
    });
    const result = JSON.parse(output.trim().split('\n').pop()!) as { matmul: string; reason: string; values: number[] };
    expect(result.matmul).toBe('tfjs-wasm XNNPACK (disabled by POSTTRAIN_BLAS=0)');
    expect(result.reason).toMatch(/; matmul: tfjs-wasm XNNPACK \(disabled by POSTTRAIN_BLAS=0\)$/);
    expect(result.values).toEqual([26, 30, 38, 44]);
  });
});
