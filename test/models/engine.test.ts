import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { engineChoice, initEngine } from '../../models/index.ts';
import { wasmHeapShortfall } from '../../models/engine.ts';
import { isSoftwareAdapter } from '../../models/webgpu-device.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import { expectClose } from './backends.ts';

/** Whether an optional tfjs-node package is installed here (GPU machines install one; CI does not). */
function installed(packageName: string): boolean {
  try {
    createRequire(import.meta.url).resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

const TENSORFLOW_PACKAGES = { tensorflow: '@tensorflow/tfjs-node', 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu' } as const;
const anyTensorflow = Object.values(TENSORFLOW_PACKAGES).some(installed);

describe('tensor engine', () => {
  it('a forced backend that is not installed fails with a clear error instead of falling back', async () => {
    // Whichever of the optional backends this machine lacks; with both installed there is none to force.
    const missing = (Object.keys(TENSORFLOW_PACKAGES) as (keyof typeof TENSORFLOW_PACKAGES)[]).find((backend) => !installed(TENSORFLOW_PACKAGES[backend]));
    if (missing) {
      const packageName = TENSORFLOW_PACKAGES[missing].replace('/', '\\/');
      const error = await initEngine({ backend: missing }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PosttrainError);
      expect((error as PosttrainError).code).toBe('ENGINE_BACKEND_UNAVAILABLE');
      expect((error as PosttrainError).message).toMatch(new RegExp(`${packageName} is not installed; install it with \`npm install ${packageName}@4.22.0\``));
    }
    await expect(initEngine({ backend: 'gpu' as never })).rejects.toThrow(/engine.backend: is 'gpu'; allowed: auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu/);
  });

  it('auto picks tfjs-node where it is installed, else multithreaded wasm, says why, and is chosen once', async () => {
    const choice = await initEngine({ threads: 2 });
    if (anyTensorflow) {
      expect(choice.backend).toMatch(/^tensorflow/);
      expect(choice.reason).toMatch(/^auto/);
      expect(tf.getBackend()).toBe('tensorflow');
    } else {
      expect(choice.backend).toBe('wasm');
      expect(choice.threads).toBe(2);
      expect(choice.reason).toMatch(/tfjs-node is not installed.*threaded SIMD wasm/);
      // No GPU here: auto skips webgpu (no device node, or no hardware adapter) and says so.
      expect(choice.reason).toMatch(/webgpu: /);
      expect(tf.getBackend()).toBe('wasm');
    }
    expect(await initEngine({ backend: 'cpu' })).toBe(choice);
    expect(engineChoice()).toBe(choice);
  });

  it('auto leaves wasm for models whose training does not fit its 4 GiB heap (SmolLM2-135M up), and says why', () => {
    expect(wasmHeapShortfall(undefined)).toBeUndefined();
    expect(wasmHeapShortfall(10_000_000)).toBeUndefined();
    expect(wasmHeapShortfall(134_515_008)).toMatch(/^a model of 134\.5M parameters needs ~2\.2 GB for training .* over the 2\.1 GB that fit the 4 GiB wasm heap$/);
  });

  it('a software renderer never counts as a GPU for auto: fallback flag or renderer name', () => {
    expect(isSoftwareAdapter({ vendor: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6', isFallbackAdapter: false })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'Mesa 22.3.6 (lavapipe)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', device: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'unknown', device: 'Some GPU', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: 'NVIDIA: 570.86.15', isFallbackAdapter: false })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'amd', architecture: 'rdna-3', device: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' })).toBe(false);
  });

  it('the chosen backend (threaded wasm without tfjs-node) multiplies matrices exactly as the cpu backend does', async () => {
    await initEngine({ threads: 2 });
    const a = Array.from({ length: 96 * 80 }, (_, i) => Math.sin(i));
    const b = Array.from({ length: 80 * 72 }, (_, i) => Math.cos(i));
    const product = () => {
      const out = tf.matMul(tf.tensor2d(a, [96, 80]), tf.tensor2d(b, [80, 72]));
      const values = Array.from(out.dataSync());
      tf.dispose(out);
      return values;
    };
    const chosen = tf.getBackend();
    const threaded = product();
    await tf.setBackend('cpu');
    const reference = product();
    await tf.setBackend(chosen);
    expectClose(threaded, reference, 1e-4, 1e-4);
  });
});
