import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../../models/model-file.ts';
import type { ActorSummary, Runtime } from '../../runtime/index.ts';
import { PPOTrainer } from '../../trainers/index.ts';
import { randomModelFiles, scratchDirectory } from '../trainers/helpers.ts';
import { printClusterLogsOnFailure, startTestCluster, type TestCluster } from './cluster-harness.ts';
import { netnsAvailable } from './netns-support.ts';
import { stepRecords as stepMetrics, twoNodePpoConfig } from './two-node-ppo.ts';

/**
 * Where roles run is an implementation detail: a PPO run whose policy (with rollout, reference and reward) runs on
 * one node and whose value group runs on another, each in its own network namespace, writes the same per-step
 * metrics as the same run on one embedded node. Experience and weights cross nodes as objects over gRPC; on the
 * wasm backend with one thread every number is computed the same way on both, so they must match exactly.
 */
describe.skipIf(!netnsAvailable())('PPO with its roles spread over two cluster nodes', () => {
  const scratch = scratchDirectory('cluster-ppo');
  const task = { name: 'sentiment' as const };
  let cluster: TestCluster;
  printClusterLogsOnFailure(() => cluster);
  let observer: Runtime;
  let models: ReturnType<typeof randomModelFiles>;

  beforeAll(async () => {
    models = randomModelFiles(scratch.path, task);
    cluster = await startTestCluster({ nodes: [{ name: 'node-0', resources: { CPU: 2 } }, { name: 'node-1', resources: { CPU: 2 } }] });
    observer = await cluster.driver({ namespace: 'observer' });
  });
  afterAll(async () => {
    await observer?.shutdown();
    cluster?.destroy();
    scratch.remove();
  });

  /**
   * The recipe a user would write: the value role in a process of its own, and each process pinned to a node with
   * Ray's `node:<name>` resource. `pinned: false` is the single-node run: the same roles and processes, no pins.
   */
  const config = (name: string, placement: { address?: string; pinned: boolean }) =>
    twoNodePpoConfig(name, { ...placement, task, models, logDirectory: scratch.path });
  const stepRecords = (name: string) => stepMetrics(join(scratch.path, name, 'metrics.jsonl'));

  it('matches the single-node run step for step, with the policy and value groups on different nodes', async () => {
    await new PPOTrainer(config('single-node', { pinned: false })).train();

    const placements: Promise<ActorSummary[]>[] = [];
    const previousToken = process.env.POSTTRAIN_TOKEN;
    process.env.POSTTRAIN_TOKEN = cluster.token;
    try {
      const trainer = new PPOTrainer(config('two-nodes', { address: cluster.headAddress, pinned: true }));
      // While a step's roles are alive, ask the head (from another driver) where each runs.
      trainer.on('step', () => placements.push(observer.listActors()));
      await trainer.train();
    } finally {
      if (previousToken === undefined) delete process.env.POSTTRAIN_TOKEN;
      else process.env.POSTTRAIN_TOKEN = previousToken;
    }

    const actors = (await Promise.all(placements)).flat();
    const nodeOf = (role: string) => new Set(actors.filter((actor) => actor.role.split('+').includes(role)).map((actor) => actor.nodeId));
    expect(nodeOf('policy')).toEqual(new Set(['node-0']));
    expect(nodeOf('value')).toEqual(new Set(['node-1']));

    const single = stepRecords('single-node');
    const spread = stepRecords('two-nodes');
    expect(single.map((record) => record.step)).toEqual([1, 2, 3]);
    // The policy's weights (checksum) and the value group's loss are in every line: a difference on either node shows.
    expect(Object.keys(single[0] ?? {})).toEqual(expect.arrayContaining(['policyLoss', 'valueLoss', 'weightChecksum', 'goldReward', 'kl']));
    expect(new Set(single.map((record) => record.weightChecksum)).size).toBe(3);
    expect(spread).toEqual(single);
    // And the policy the last step trained, as saved by each run, is bit for bit the same.
    expect(loadModelFile(join(scratch.path, 'two-nodes'), 'model').weights).toEqual(loadModelFile(join(scratch.path, 'single-node'), 'model').weights);
  }, 180_000);
});
