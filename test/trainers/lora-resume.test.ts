/**
 * A LoRA run is durable like any other: a GRPO run with LoRA adapters (dropout on, so the adapters' dropout masks
 * must be reproduced too) SIGKILLed after its step-8 checkpoint and resumed computes exactly what an uninterrupted
 * run computes. Only adapters are in the checkpoint; the base is reloaded from the folder. Both runs are child
 * processes on single-threaded wasm, as in test/trainers/resume-equivalence.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { characterTokenizerFiles, initLlamaFolder, TINY_LLAMA } from '../../models/hf/init-model.ts';
import { DETERMINISTIC_RUNTIME, readMetrics, runTrainer, spawnTrainer, temporaryDirectory, waitFor, withoutWallClock } from '../faults/helpers.ts';

const STEPS = 12;

it('a LoRA GRPO run SIGKILLed after its step-8 checkpoint and resumed has the metrics of an uninterrupted run from step 9 on', async () => {
  const root = temporaryDirectory('lora-resume');
  const base = join(root, 'tiny-llama');
  initLlamaFolder(base, { ...TINY_LLAMA, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1 }, { seed: 3, extraFiles: characterTokenizerFiles() });
  const config = (name: string) => ({
    name,
    seed: 4,
    task: { name: 'arithmetic' },
    model: { from: base, lora: { rank: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj', 'v_proj', 'down_proj'] } },
    runtime: DETERMINISTIC_RUNTIME,
    rollout: { promptsPerStep: 2, samplesPerPrompt: 2 },
    algo: { epochs: 1, minibatches: 2 },
    trainer: { steps: STEPS, learningRate: 1e-2, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
    checkpoint: { everySteps: 4 },
    logging: { runsDirectory: join(root, 'runs'), level: 'error', progress: false },
  });
  const runDirectory = join(root, 'runs', 'interrupted');

  const uninterrupted = runTrainer('grpo', config('uninterrupted'));
  const doomed = spawnTrainer('grpo', config('interrupted'));
  const latest = join(runDirectory, 'checkpoints', 'interrupted', 'latest');
  await waitFor(() => existsSync(latest) && readFileSync(latest, 'utf8').trim() === 'step-000008', 'checkpoint 8', 300_000);
  doomed.kill('SIGKILL');
  expect((await doomed.finished).signal).toBe('SIGKILL');
  const killedAt = readMetrics(runDirectory).at(-1)!.step;
  expect(killedAt).toBeGreaterThanOrEqual(8);
  expect(killedAt).toBeLessThan(STEPS);

  const resumed = await runTrainer('grpo', config('interrupted'));
  expect(resumed.resumedFrom).toMatchObject({ step: 8, skipped: [] });
  await uninterrupted;
  const expected = readMetrics(join(root, 'runs', 'uninterrupted'));
  const actual = readMetrics(runDirectory);
  expect(actual.map((record) => record.step)).toEqual(Array.from({ length: STEPS }, (_, index) => index + 1));
  expect(withoutWallClock(actual.slice(8))).toEqual(withoutWallClock(expected.slice(8)));
  // Both runs end with byte-identical adapters.
  expect(readFileSync(join(runDirectory, 'adapter', 'adapter_model.safetensors'))).toEqual(readFileSync(join(root, 'runs', 'uninterrupted', 'adapter', 'adapter_model.safetensors')));
}, 600_000);
