/**
 * Data parallelism is an implementation detail: a role group of two ranks that averages gradients with an
 * allreduce takes the same optimizer steps as one rank on the same data.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GPT } from '../../models/index.ts';
import { loadModelFile } from '../../models/model-file.ts';
import { PPOTrainer, SFTTrainer } from '../../trainers/index.ts';
import { TINY_MODEL, randomModelFiles, scratchDirectory, testLogging } from './helpers.ts';

const scratch = scratchDirectory('data-parallel');
afterAll(() => scratch.remove());
const task = { name: 'sentiment' as const };

/**
 * || update_a - update_b || / || update_a ||, with update = weights after - weights before. Compared as whole update
 * vectors rather than element by element: Adam divides by sqrt(v), so on parameters whose true gradient is zero
 * (an attention key's bias: softmax ignores a shift shared by all keys) it turns rounding noise of order 1e-9
 * into steps of order lr, whatever the summation order; those few elements are noise in both runs.
 */
function relativeUpdateDifference(start: Float32Array, a: Float32Array, b: Float32Array): number {
  let difference = 0;
  let size = 0;
  for (let i = 0; i < start.length; i++) {
    difference += (a[i]! - b[i]!) ** 2;
    size += (a[i]! - start[i]!) ** 2;
  }
  return Math.sqrt(difference / size);
}

describe('data-parallel size 2 equals size 1 on the same data', () => {
  it('SFT: the policy after 3 steps is the same', async () => {
    const run = async (name: string, groupSize: number, seed = 0) => {
      await new SFTTrainer({
        name,
        seed,
        task,
        model: TINY_MODEL,
        runtime: { roles: { policy: { groupSize } } },
        trainer: { steps: 3, batchSize: 8, evalEvery: 0, evalExamples: 8, evalPrompts: 0 },
        logging: testLogging(scratch.path),
      }).train();
      return loadModelFile(`${scratch.path}/${name}`, 'model').weights;
    };
    const start = new GPT({ ...TINY_MODEL, vocabSize: 55 }, { head: 'language', seed: 0 }).parameters.data;
    const single = await run('sft-1', 1);
    const parallel = await run('sft-2', 2);
    expect(relativeUpdateDifference(start, single, parallel)).toBeLessThan(2e-3);
    // The comparison is meaningful: a different batch moves the weights somewhere else entirely.
    const otherData = await run('sft-other', 1, 1);
    expect(relativeUpdateDifference(start, single, otherData)).toBeGreaterThan(0.2);
  });

  it('PPO: policy and value groups of 2 take the same steps as groups of 1', async () => {
    const models = randomModelFiles(scratch.path, task);
    const metrics: Record<string, Record<string, unknown>[]> = {};
    const run = async (name: string, groupSize: number) => {
      const trainer = new PPOTrainer({
        name,
        task,
        model: TINY_MODEL,
        init: { policy: models.language, reward: models.reward },
        // One rollout worker in both runs, so both train on identical experience.
        runtime: { roles: { policy: { groupSize }, value: { groupSize }, rollout: { groupSize: 1 } } },
        rollout: { batchSize: 8 },
        algo: { epochs: 1, minibatches: 2 },
        trainer: { steps: 2, learningRate: 1e-3, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
        logging: testLogging(scratch.path),
      });
      metrics[name] = [];
      trainer.on('step', (record) => metrics[name]!.push(record));
      await trainer.train();
      return loadModelFile(`${scratch.path}/${name}`, 'model').weights;
    };
    const start = loadModelFile(scratch.path, 'random-language').weights;
    const single = await run('ppo-1', 1);
    const parallel = await run('ppo-2', 2);
    expect(relativeUpdateDifference(start, single, parallel)).toBeLessThan(2e-3);
    for (const key of ['policyLoss', 'valueLoss', 'clipFraction', 'entropy'] as const) {
      const [a, b] = [metrics['ppo-1']!.at(-1)![key] as number, metrics['ppo-2']!.at(-1)![key] as number];
      expect(Math.abs(a - b)).toBeLessThan(1e-4 * Math.max(1, Math.abs(a)));
    }
  });
});
