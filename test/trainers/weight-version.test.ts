/**
 * "Did the weights update?" is never a question: every experience batch records the version and checksum of the
 * policy weights that generated it, and the trainer logs them from the experience itself.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricsRecord } from '../../observe/index.ts';
import { PPOTrainer } from '../../trainers/index.ts';
import { TINY_MODEL, randomModelFiles, scratchDirectory, testLogging } from './helpers.ts';

const scratch = scratchDirectory('weight-version');
afterAll(() => scratch.remove());

describe('experience records the weight version it was generated with', () => {
  it('each step generates with the weights the previous step trained', async () => {
    const task = { name: 'sentiment' as const };
    const models = randomModelFiles(scratch.path, task);
    const records: MetricsRecord[] = [];
    const trainer = new PPOTrainer({
      name: 'versions',
      task,
      model: TINY_MODEL,
      init: { policy: models.language, reward: models.reward },
      rollout: { batchSize: 8 },
      algo: { epochs: 2, minibatches: 2 },
      trainer: { steps: 3, learningRate: 1e-3, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
      logging: testLogging(scratch.path),
    });
    trainer.on('step', (record) => records.push(record));
    await trainer.train();
    // Step 1 samples from the starting weights (version 0); each step then takes epochs x minibatches = 4 updates.
    expect(records.map((record) => record.weightVersion)).toEqual([0, 4, 8]);
    const checksums = records.map((record) => record.weightChecksum as string);
    expect(new Set(checksums).size).toBe(3);
    for (const checksum of checksums) expect(checksum).toMatch(/^[0-9a-f]{16}$/);
  });
});
