/**
 * The reward-model stage on the user's preference files (Bradley-Terry on their pairs, held-out pair accuracy on
 * the eval split), and a reward model from a *ForSequenceClassification folder (`model.from` of the reward stage).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../models/engine.ts';
import { characterTokenizerFiles, initLlamaFolder, TINY_LLAMA } from '../../models/hf/init-model.ts';
import { Runtime } from '../../runtime/index.ts';
import { RewardTrainer } from '../../trainers/index.ts';
import { DETERMINISTIC_RUNTIME, readMetrics, temporaryDirectory } from '../faults/helpers.ts';
import { writePreferenceFiles } from './preference-files.ts';

const SMALL_LLAMA = { ...TINY_LLAMA, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1 };
/** transformers' LlamaForSequenceClassification (1 label), from ../shared/fixtures/hf/. */
const REWARD_FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/hf/llama-reward');

let root: string;
let files: ReturnType<typeof writePreferenceFiles>;
let runtime: Runtime;
beforeAll(async () => {
  root = temporaryDirectory('reward-from-files');
  initLlamaFolder(join(root, 'llama'), SMALL_LLAMA, { seed: 3, extraFiles: characterTokenizerFiles() });
  // The fixture has no tokenizer; its vocabulary (260) holds the character tokenizer's 55 ids.
  cpSync(REWARD_FIXTURE, join(root, 'llama-reward'), { recursive: true });
  for (const [name, text] of Object.entries(characterTokenizerFiles())) writeFileSync(join(root, 'llama-reward', name), text);
  files = writePreferenceFiles(root);
  runtime = await Runtime.start({ namespace: 'reward-from-files' });
  await initEngine({ backend: 'wasm', threads: 1 });
});
afterAll(async () => {
  await runtime?.shutdown();
});

const config = (name: string, from: string, steps: number) => ({
  name,
  seed: 1,
  task: { name: 'arithmetic' as const },
  model: { from },
  data: { train: files.pairs, evalFraction: 0.25 },
  runtime: DETERMINISTIC_RUNTIME,
  checkpoint: { everySteps: 4 },
  logging: { runsDirectory: join(root, 'runs'), level: 'error' as const, progress: false },
  trainer: { steps, batchSize: 8, learningRate: 3e-3, evalEvery: 0, evalPairs: 10 },
});

describe('a reward model from preference files', () => {
  it('learns the user’s pairs: held-out pair accuracy above chance, and the dataset cursor is in the checkpoint', async () => {
    const summary = await new RewardTrainer(config('rm-byo', join(root, 'llama'), 8), { runtime }).train();
    expect(summary.heldOutAccuracy as number).toBeGreaterThan(0.8);
    const last = readMetrics(join(root, 'runs', 'rm-byo')).filter((record) => record.step === 8)[0]!;
    expect(last.heldOutMargin as number).toBeGreaterThan(0);
    const state = JSON.parse(readFileSync(join(root, 'runs', 'rm-byo', 'checkpoints', 'rm-byo', 'step-000008', 'state.json'), 'utf8'));
    // 8 steps of 8 from a 30-row train split: epoch 2, 4 pairs in.
    expect(state.driver.dataCursor).toEqual({ epoch: 2, position: 4 });
  });

  it('trains on from a *ForSequenceClassification folder (model.from) and writes one back', async () => {
    const summary = await new RewardTrainer(config('rm-seqcls', join(root, 'llama-reward'), 2), { runtime }).train();
    expect(summary.steps).toBe(2);
    const written = JSON.parse(readFileSync(join(root, 'runs', 'rm-seqcls', 'model', 'config.json'), 'utf8'));
    expect(written.architectures).toEqual(['LlamaForSequenceClassification']);
    expect(written.hidden_size).toBe(40);
  });
});
