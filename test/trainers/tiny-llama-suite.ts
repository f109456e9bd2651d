/**
 * The set-up the trainer tests on a tiny Hugging Face Llama share, written once: a temporary root holding the
 * model folder, one runtime for a test file's runs with the wasm engine on one thread, and the config fields
 * every such run repeats.
 */
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { initEngine } from '../../models/engine.ts';
import { characterTokenizerFiles, initLlamaFolder, TINY_LLAMA } from '../../models/hf/init-model.ts';
import { Runtime } from '../../runtime/index.ts';
import { DETERMINISTIC_RUNTIME, temporaryDirectory } from '../faults/helpers.ts';

/** A one-layer Llama on the character vocabulary: small enough for smoke runs of every stage. */
export const SMALL_LLAMA = { ...TINY_LLAMA, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1 };

/**
 * A temporary directory named after `name` holding `llama/`: SMALL_LLAMA (seed 3) with the character
 * tokenizer's files.
 *
 * @example
 * const root = prepareLlamaRoot('grpo-from-files'); // root/llama
 */
export function prepareLlamaRoot(name: string): string {
  const root = temporaryDirectory(name);
  initLlamaFolder(join(root, 'llama'), SMALL_LLAMA, { seed: 3, extraFiles: characterTokenizerFiles() });
  return root;
}

/**
 * Starts one runtime (namespace `name`) and the wasm engine on one thread before the file's tests and shuts it
 * down after them. Returns the trainer options that hold it, filled in once the tests start.
 *
 * @example
 * const shared = sharedRuntime('dpo-from-files');
 * it('trains', async () => { await new DPOTrainer(config, shared).train(); });
 */
export function sharedRuntime(name: string): { runtime: Runtime } {
  const options = {} as { runtime: Runtime };
  beforeAll(async () => {
    options.runtime = await Runtime.start({ namespace: name });
    await initEngine({ backend: 'wasm', threads: 1 });
  });
  afterAll(async () => {
    await options.runtime?.shutdown();
  });
  return options;
}

/**
 * The fields every run on `root/llama` repeats: its name and seed, the arithmetic task, the deterministic
 * runtime, and quiet logging under `root/runs`.
 *
 * @example
 * new GRPOTrainer({ ...runOnLlama(root, 'byo', 4), data: { train: files.prompts } }, shared);
 */
export function runOnLlama(root: string, name: string, seed: number) {
  return {
    name,
    seed,
    task: { name: 'arithmetic' as const },
    model: { from: join(root, 'llama') },
    runtime: DETERMINISTIC_RUNTIME,
    logging: { runsDirectory: join(root, 'runs'), level: 'error' as const, progress: false },
  };
}
