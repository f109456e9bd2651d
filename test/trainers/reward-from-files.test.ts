/**
 * The reward-model stage on the user's preference files (Bradley-Terry on their pairs, held-out pair accuracy on
 * the eval split), and a reward model from a *ForSequenceClassification folder (`model.from` of the reward stage).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RewardTrainer } from '../../trainers/index.ts';
import { readMetrics } from '../faults/helpers.ts';
import { preparePreferenceRoot } from './preference-files.ts';
import { runOnLlama, sharedRuntime } from './tiny-llama-suite.ts';

const { root, files } = preparePreferenceRoot('reward-from-files');
const shared = sharedRuntime('reward-from-files');

const config = (name: string, from: string, steps: number) => ({
  ...runOnLlama(root, name, 1),
  model: { from },
  data: { train: files.pairs, evalFraction: 0.25 },
  checkpoint: { everySteps: 4 },
  trainer: { steps, batchSize: 8, learningRate: 3e-3, evalEvery: 0, evalPairs: 10 },
});

describe('a reward model from preference files', () => {
  it('learns the user’s pairs: held-out pair accuracy above chance, and the dataset cursor is in the checkpoint', async () => {
    const summary = await new RewardTrainer(config('rm-byo', join(root, 'llama'), 8), shared).train();
    expect(summary.heldOutAccuracy as number).toBeGreaterThan(0.8);
    const last = readMetrics(join(root, 'runs', 'rm-byo')).filter((record) => record.step === 8)[0]!;
    expect(last.heldOutMargin as number).toBeGreaterThan(0);
    const state = JSON.parse(readFileSync(join(root, 'runs', 'rm-byo', 'checkpoints', 'rm-byo', 'step-000008', 'state.json'), 'utf8'));
    // 8 steps of 8 from a 30-row train split: epoch 2, 4 pairs in.
    expect(state.driver.dataCursor).toEqual({ epoch: 2, position: 4 });
  });

  it('trains on from a *ForSequenceClassification folder (model.from) and writes one back', async () => {
    const summary = await new RewardTrainer(config('rm-seqcls', join(root, 'llama-reward'), 2), shared).train();
    expect(summary.steps).toBe(2);
    const written = JSON.parse(readFileSync(join(root, 'runs', 'rm-seqcls', 'model', 'config.json'), 'utf8'));
    expect(written.architectures).toEqual(['LlamaForSequenceClassification']);
    expect(written.hidden_size).toBe(40);
  });
});
