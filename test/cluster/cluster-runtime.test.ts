import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectLostError, type ActorHandle, type Runtime } from '../../runtime/index.ts';
import { actorBehaviour } from '../runtime/actor-behaviour.ts';
import { collectiveConformance, serialReduce, values } from '../runtime/collectives/conformance.ts';
import type { Counter } from '../runtime/fixtures/test-actors.ts';
import { eventually, fixtures } from '../runtime/helpers.ts';
import { placementGroupBehaviour } from '../runtime/placement-group-behaviour.ts';
import { actorPool } from './actor-members.ts';
import { printClusterLogsOnFailure, startTestCluster, type TestCluster } from './cluster-harness.ts';
import type { CollectiveRank } from './fixtures/collective-actor.ts';
import { netnsAvailable } from './netns-support.ts';

/**
 * The runtime's behaviour suites against a real cluster: a head and two node agents started by `recipe cluster`,
 * each in its own network namespace, every call over gRPC with the token and mutual TLS, and the test process as
 * the driver. The same suites run against the embedded runtime's logical nodes in test/runtime/.
 */
describe.skipIf(!netnsAvailable())('a cluster of two nodes in network namespaces (token and mutual TLS)', () => {
  let cluster: TestCluster;
  printClusterLogsOnFailure(() => cluster);
  let runtime: Runtime;
  /** A second driver with a default namespace, as the embedded placement suite has. */
  let placementRuntime: Runtime;
  const hosts: { nodeId: string; host: string }[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster({ tls: true, nodes: [{ name: 'node-0', resources: { CPU: 2, GPU: 4, ssd: 1 } }, { name: 'node-1', resources: { CPU: 2, GPU: 4 } }] });
    // No default namespace, as in the embedded suites (they check that named things demand one).
    runtime = await cluster.driver();
    placementRuntime = await cluster.driver({ namespace: 'placement' });
    for (const node of await runtime.nodes()) hosts.push({ nodeId: node.nodeId, host: (node.address as string).split(':')[1] as string });
    hosts.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  });
  afterAll(async () => {
    await placementRuntime?.shutdown();
    await runtime?.shutdown();
    cluster?.destroy();
  });

  placementGroupBehaviour('cluster', () => ({ runtime: placementRuntime, nodes: ['node-0', 'node-1'], metrics: false }));
  actorBehaviour('cluster', () => ({ runtime, nodes: ['node-0', 'node-1'], metrics: false }));

  function on(node: string, args: [number] = [0]): Promise<ActorHandle<Counter>> {
    return runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', args, resources: { CPU: 0.1, [`node:${node}`]: 0.01 } });
  }

  async function transfers(): Promise<Record<string, { served: number; fetched: number }>> {
    return Object.fromEntries((await runtime.nodes()).map((node) => [node.nodeId, node.objectTransfers ?? { served: 0, fetched: 0 }]));
  }

  describe('objects across nodes', () => {
    it("a get of another node's object streams it into the local store once per node, however many processes read it", async () => {
      const owner = await on('node-0');
      const readers = await Promise.all([on('node-1'), on('node-1'), on('node-1')]);
      const before = await transfers();
      const ref = await owner.call('makeArray', 4 * 1024 * 1024, 2);
      const sums = await Promise.all(readers.map((reader) => reader.call('sum', ref)));
      expect(sums).toEqual([8 * 1024 * 1024, 8 * 1024 * 1024, 8 * 1024 * 1024]);
      const after = await eventually(transfers, (now) => (now['node-1']?.fetched ?? 0) > (before['node-1']?.fetched ?? 0) && (now['node-0']?.served ?? 0) > (before['node-0']?.served ?? 0));
      expect((after['node-1']?.fetched ?? 0) - (before['node-1']?.fetched ?? 0)).toBe(1);
      expect((after['node-0']?.served ?? 0) - (before['node-0']?.served ?? 0)).toBe(1);
      const inDriver = await ref.get();
      expect(inDriver.length).toBe(4 * 1024 * 1024);
      expect(inDriver[12345]).toBe(2);
      const fromDriver = await runtime.put(new Float32Array([1, 2, 3, 4.5]));
      expect(await readers[0]!.call('sum', fromDriver)).toBe(10.5);
      ref.release();
      await Promise.all([owner, ...readers].map((actor) => actor.kill()));
    });

    it('when the owner dies its objects are lost on every node, fetched copies included (ObjectLostError naming the owner)', async () => {
      const owner = await on('node-0');
      const reader = await on('node-1');
      const ref = await owner.call('makeArray', 1000, 3);
      expect(await reader.call('keep', ref)).toBe(1);
      expect(((await reader.call('readKept', 0)) as Float32Array)[999]).toBe(3);
      await owner.kill();
      const lost = await eventually(
        () => reader.call('readKept', 0).then(() => undefined, (error: unknown) => error),
        (error) => error !== undefined,
      );
      expect(lost).toBeInstanceOf(ObjectLostError);
      expect((lost as Error).message).toMatch(/Counter-a\d+ killed by SIGKILL.*\(owner: Counter-a\d+\)/);
      await expect(ref.get()).rejects.toThrow(ObjectLostError);
      await reader.kill();
    });
  });

  describe('collectives across nodes', () => {
    it('ranks on two nodes form a group from a unique id published in the control store, and reduce correctly', async () => {
      const module = new URL('./fixtures/collective-actor.ts', import.meta.url);
      const ranks = await Promise.all(
        ['node-0', 'node-1'].map((node) => runtime.createActor<typeof CollectiveRank>({ module, exportName: 'CollectiveRank', resources: { CPU: 0.1, [`node:${node}`]: 0.01 } })),
      );
      const joined = await Promise.all(ranks.map((rank, index) => rank.call('joinByKey', 'cluster-test-v1', index, 2)));
      expect(joined.map((entry) => entry.node)).toEqual(['node-0', 'node-1']);
      const inputs = [values(100_000, 1), values(100_000, 2)];
      const results = await Promise.all(ranks.map((rank, index) => rank.call('allreduce', inputs[index]!.slice(), { op: 'sum' })));
      for (const result of results) expect(result).toEqual(serialReduce(inputs, 'sum'));
      await Promise.all(ranks.map((rank) => rank.kill()));
    });

    collectiveConformance(() => actorPool(runtime, hosts));
  });
});
