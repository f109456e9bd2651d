/**
 * The tiny PPO the cluster tests run on two nodes (cluster-ppo, etcd-failover): policy with rollout, reference and
 * reward in one process pinned to node-0, value in its own process pinned to node-1; unpinned it is the
 * single-node run. On the wasm backend with one thread every number is computed the same way wherever it runs, so
 * runs compare metric for metric (`stepRecords`).
 */
import { readFileSync } from 'node:fs';
import type { TaskConfig } from '../../models/tasks/index.ts';
import type { PPOConfigInput } from '../../trainers/index.ts';
import { TINY_MODEL, testLogging } from '../trainers/helpers.ts';

/** The fields of a metrics line that measure time, which differ from run to run. */
const TIMINGS = ['wallTime', 'phaseSeconds', 'generatedTokensPerSecond'];

/**
 * @example
 * new PPOTrainer(twoNodePpoConfig('two-nodes', { address, pinned: true, task, models, logDirectory }));
 */
export function twoNodePpoConfig(
  name: string,
  options: { address?: string | undefined; pinned: boolean; task: TaskConfig; models: { language: string; reward: string }; logDirectory: string },
): PPOConfigInput {
  const pin = (node: string) => (options.pinned ? { [`node:${node}`]: 0.01 } : {});
  return {
    name,
    seed: 3,
    task: options.task,
    model: TINY_MODEL,
    init: { policy: options.models.language, reward: options.models.reward },
    runtime: {
      ...(options.address ? { address: options.address } : {}),
      backend: 'wasm',
      threads: 1,
      colocate: [['policy', 'rollout', 'reference', 'reward'], ['value']],
      roles: { policy: { resources: { CPU: 1, ...pin('node-0') } }, value: { resources: { CPU: 1, ...pin('node-1') } } },
    },
    rollout: { batchSize: 8 },
    algo: { epochs: 1, minibatches: 2 },
    trainer: { steps: 3, learningRate: 1e-3, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
    checkpoint: { everySteps: 0 },
    logging: testLogging(options.logDirectory),
  };
}

/**
 * Each step's line of a metrics.jsonl without the fields that measure time.
 *
 * @example
 * expect(stepRecords(join(dir, 'two-nodes', 'metrics.jsonl'))).toEqual(stepRecords(join(dir, 'single-node', 'metrics.jsonl')));
 */
export function stepRecords(metricsFile: string): Record<string, unknown>[] {
  return readFileSync(metricsFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => typeof record.step === 'number')
    .map((record) => Object.fromEntries(Object.entries(record).filter(([key]) => !TIMINGS.includes(key))));
}
