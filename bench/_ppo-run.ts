/**
 * A short real PPO run for the durability benchmarks: bench-S models (the config defaults) on the sentiment task,
 * starting from seeded fresh policy and reward models written to a temporary directory, a rollout batch of 16,
 * one epoch of two minibatches, evaluation only at the ends. Everything colocated in one worker (the default).
 */
import { join } from 'node:path';
import type { PPOConfigInput } from '../trainers/ppo-config.ts';
import { parsePpoConfig } from '../trainers/ppo-config.ts';
import { gptConfigOf } from '../models/model-spec.ts';
import { temporaryDirectory, writeModel } from '../test/faults/helpers.ts';

export function benchPpoRoot(name: string): string {
  const root = temporaryDirectory(`bench-${name}`);
  const gpt = gptConfigOf(parsePpoConfig(benchPpoConfig(root)).derived.model);
  writeModel(join(root, 'init', 'policy'), gpt, 'language', 1);
  writeModel(join(root, 'init', 'reward'), gpt, 'reward', 2);
  return root;
}

export function benchPpoConfig(root: string, overrides: Partial<PPOConfigInput> = {}): PPOConfigInput {
  return {
    name: 'bench',
    task: { name: 'sentiment' },
    init: { policy: join(root, 'init', 'policy'), reward: join(root, 'init', 'reward') },
    rollout: { batchSize: 16 },
    algo: { epochs: 1, minibatches: 2 },
    trainer: { steps: 12, learningRate: 1e-4, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 },
    logging: { runsDirectory: join(root, 'runs'), level: 'error', progress: false },
    ...overrides,
  };
}
