/**
 * Wall-clock time per tfjs kernel name on one backend, for finding what to replace next (`--profile` of
 * bench/llama-step.ts). Every registered kernel of the backend is wrapped once; the cpu and wasm backends run
 * kernels synchronously, so the time between entry and return is the kernel's own work.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Per kernel name: calls and total milliseconds. */
export type KernelTimes = Map<string, { calls: number; milliseconds: number }>;

/**
 * Wraps the backend's kernels and returns the table they fill from now on.
 *
 * @example
 * const times = timeKernels('cpu');
 * model.logits(batch);
 * console.log(topKernels(times, 10)); // [{ kernel: 'BatchMatMul', calls: 90, ms: 812.4 }, ...]
 */
export function timeKernels(backendName: string): KernelTimes {
  const times: KernelTimes = new Map();
  for (const config of tf.getKernelsForBackend(backendName)) {
    const original = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const started = performance.now();
        try {
          return original(args);
        } finally {
          const entry = times.get(config.kernelName) ?? { calls: 0, milliseconds: 0 };
          entry.calls += 1;
          entry.milliseconds += performance.now() - started;
          times.set(config.kernelName, entry);
        }
      },
    });
  }
  return times;
}

/** The `count` kernels that took longest, with calls and rounded milliseconds. */
export function topKernels(times: KernelTimes, count: number): { kernel: string; calls: number; ms: number }[] {
  return [...times.entries()]
    .sort((a, b) => b[1].milliseconds - a[1].milliseconds)
    .slice(0, count)
    .map(([kernel, { calls, milliseconds }]) => ({ kernel, calls, ms: Math.round(milliseconds * 10) / 10 }));
}
