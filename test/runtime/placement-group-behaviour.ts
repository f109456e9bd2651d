import { beforeAll, describe, expect, it } from 'vitest';
import {
  ActorDiedError,
  ConfigError,
  InfeasibleResourcesError,
  PlacementGroupInfeasibleError,
  PlacementGroupRemovedError,
  PlacementGroupTimeoutError,
  type Runtime,
} from '../../runtime/index.ts';
import type { Counter } from './fixtures/test-actors.ts';
import { fixtures } from './helpers.ts';

/** A runtime under test: two nodes of `{ CPU: 2, GPU: 4 }` (logical nodes, or cluster nodes in namespaces). */
export interface RuntimeUnderTest {
  runtime: Runtime;
  /** Ids of the two nodes. */
  nodes: [string, string];
  /** Whether `runtime.metrics` exists (the embedded driver). */
  metrics: boolean;
}

/**
 * Placement-group behaviour every runtime shares: the embedded runtime over logical nodes runs it
 * (`placement-groups.test.ts`), and so does a real cluster over network namespaces (`test/cluster/`), because a
 * placement group must behave the same on both.
 */
export function placementGroupBehaviour(name: string, context: () => RuntimeUnderTest): void {
  let runtime: Runtime;
  let nodes: [string, string];
  let metrics: boolean;

  async function free(): Promise<{ CPU: number; GPU: number }[]> {
    return (await runtime.nodes()).filter((node) => node.alive).map((node) => ({ CPU: node.free.CPU ?? 0, GPU: node.free.GPU ?? 0 }));
  }

  describe(`placement groups (${name})`, () => {
    beforeAll(() => {
      ({ runtime, nodes, metrics } = context());
    });

    it('STRICT_SPREAD over two nodes puts one bundle on each node', async () => {
      const group = await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }, { CPU: 1 }], strategy: 'STRICT_SPREAD' });
      await group.ready({ timeoutMs: 1000 });
      expect(new Set(group.bundleNodes)).toEqual(new Set(nodes));
      expect(await free()).toEqual([{ CPU: 1, GPU: 4 }, { CPU: 1, GPU: 4 }]);
      await group.remove();
      expect(await free()).toEqual([{ CPU: 2, GPU: 4 }, { CPU: 2, GPU: 4 }]);
    });

    it('STRICT_SPREAD with three bundles on two nodes fails at once with a clear error', async () => {
      const error = await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }], strategy: 'STRICT_SPREAD' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PlacementGroupInfeasibleError);
      expect((error as Error).message).toMatch(/STRICT_SPREAD puts every bundle on a different node: 3 bundles need 3 nodes but the cluster has 2/);
      expect(await free()).toEqual([{ CPU: 2, GPU: 4 }, { CPU: 2, GPU: 4 }]);
    });

    it('STRICT_PACK keeps every bundle on one node, and one that cannot fit now times out naming the shortfall', async () => {
      const packed = await runtime.createPlacementGroup({ bundles: [{ CPU: 1, GPU: 2 }, { CPU: 1, GPU: 2 }], strategy: 'STRICT_PACK' });
      await packed.ready();
      expect(packed.bundleNodes[0]).toBe(packed.bundleNodes[1]);
      const blocker = await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }], strategy: 'PACK' });
      await blocker.ready();
      // Now one node is full and the other has CPU 1 free: { CPU: 2 } on one node must wait.
      const waiting = await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }, { CPU: 1 }], strategy: 'STRICT_PACK', name: 'trial-7' });
      const error = await waiting.ready({ timeoutMs: 200 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PlacementGroupTimeoutError);
      const message = (error as Error).message;
      expect(message).toMatch(/placement group 'trial-7' \(STRICT_PACK\) was not ready after 200 ms/);
      expect(message).toMatch(new RegExp(`bundle 0 \\{CPU: 1\\} \\(needs \\{CPU: 2\\} together on one node; best node (${nodes.join('|')}) is short CPU: need 2, free 1\\)`));
      expect(message).toMatch(new RegExp(`Free now: (${nodes.join('|')}) \\{CPU: [01], GPU: [04][^}]*\\}, (${nodes.join('|')}) \\{CPU: [01], GPU: [04][^}]*\\}`));
      expect((error as PlacementGroupTimeoutError).unplacedBundles).toEqual([0, 1]);
      // Freeing the blocker lets the waiting group in without anyone asking again.
      await blocker.remove();
      await waiting.ready({ timeoutMs: 1000 });
      expect(waiting.bundleNodes[0]).toBe(waiting.bundleNodes[1]);
      await Promise.all([packed.remove(), waiting.remove()]);
    });

    it('PACK prefers one node and SPREAD prefers distinct nodes, both falling back when they must', async () => {
      const packed = await (await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }, { CPU: 1 }], strategy: 'PACK' })).ready();
      expect(packed.bundleNodes[0]).toBe(packed.bundleNodes[1]);
      const overflow = await (await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }, { CPU: 1 }], strategy: 'PACK' })).ready();
      expect(overflow.bundleNodes[0]).toBe(overflow.bundleNodes[1]);
      await Promise.all([packed.remove(), overflow.remove()]);
      const spread = await (await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }], strategy: 'SPREAD' })).ready();
      expect(new Set(spread.bundleNodes).size).toBe(2);
      await spread.remove();
    });

    it('reserves atomically: a group that does not fit takes nothing', async () => {
      const big = await runtime.createPlacementGroup({ bundles: [{ CPU: 2 }, { CPU: 2 }, { GPU: 1 }], strategy: 'PACK' });
      // PACK may use both nodes: 2 + 2 CPU fit, and the GPU bundle fits too, so this one is created.
      await expect(big.ready({ timeoutMs: 1000 })).resolves.toBe(big);
      const second = await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }, { GPU: 1 }], strategy: 'PACK' });
      await expect(second.ready({ timeoutMs: 50 })).rejects.toThrow(PlacementGroupTimeoutError);
      expect(await free()).toEqual(expect.arrayContaining([expect.objectContaining({ CPU: 0 })]));
      expect((await free()).reduce((sum, node) => sum + node.GPU, 0)).toBe(7);
      await Promise.all([big.remove(), second.remove()]);
      expect(await free()).toEqual([{ CPU: 2, GPU: 4 }, { CPU: 2, GPU: 4 }]);
    });

    it('reports bundles that fit on no node, and refuses bad specs by field', async () => {
      await expect(runtime.createPlacementGroup({ bundles: [{ GPU: 8 }], strategy: 'PACK' })).rejects.toThrow(/bundle 0 \{GPU: 8\} fits on no node/);
      await expect(runtime.createPlacementGroup({ bundles: [{ CPU: 1.5 }, { CPU: 1.5 }], strategy: 'STRICT_PACK' })).rejects.toThrow(/STRICT_PACK needs \{CPU: 3\} on one node/);
      await expect(runtime.createPlacementGroup({ bundles: [], strategy: 'PACK' })).rejects.toThrow(ConfigError);
      await expect(runtime.createPlacementGroup({ bundles: [{ CPU: 1 }], strategy: 'TIGHT' as never })).rejects.toThrow(/must be one of PACK, SPREAD, STRICT_PACK, STRICT_SPREAD/);
      await expect(runtime.createPlacementGroup({ bundles: [{ CPU: -1 }] })).rejects.toThrow(/bundles\[0\]\.CPU: must be a finite number >= 0/);
    });

    it('runs actors in a chosen bundle and kills them when the group is removed, freeing it at once', async () => {
      const group = await (await runtime.createPlacementGroup({ bundles: [{ CPU: 1, GPU: 2 }, { CPU: 1, GPU: 2 }], strategy: 'STRICT_SPREAD', name: 'policy-pg' })).ready();
      const members = await runtime.createActorGroup<typeof Counter>({ module: fixtures, exportName: 'Counter', size: 2, role: 'policy', placementGroup: group, resources: { CPU: 0.5, GPU: 1 } });
      const contexts = await members.callAll('context');
      expect(contexts.map((context) => context.nodeId)).toEqual([group.bundleNodes[0], group.bundleNodes[1]]);
      expect(contexts.every((context) => context.gpuIds.length === 1)).toBe(true);
      await expect(
        runtime.createActor({ module: fixtures, exportName: 'Counter', placementGroup: group, bundleIndex: 0, resources: { CPU: 0.5, GPU: 3 } }),
      ).rejects.toThrow(InfeasibleResourcesError);
      await expect(runtime.createActor({ module: fixtures, exportName: 'Counter', placementGroup: group, bundleIndex: 2 })).rejects.toThrow(/bundleIndex: must be an integer from 0 to 1/);
      const inFlight = members.rank(0).call('sleep', 10_000);
      await group.remove();
      expect(await free()).toEqual([{ CPU: 2, GPU: 4 }, { CPU: 2, GPU: 4 }]);
      const error = await inFlight.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ActorDiedError);
      expect((error as Error).message).toMatch(/its placement group 'policy-pg' was removed/);
      await expect(members.rank(1).call('value')).rejects.toThrow(ActorDiedError);
      await expect(group.ready()).rejects.toThrow(PlacementGroupRemovedError);
    });

    it('starts an actor that waits for resources as soon as a placement group frees them', async () => {
      const hog = await (await runtime.createPlacementGroup({ bundles: [{ CPU: 2 }, { CPU: 2 }], strategy: 'SPREAD' })).ready();
      let started = false;
      const waiting = runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', args: [3], resources: { CPU: 1 } }).then((actor) => {
        started = true;
        return actor;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(started).toBe(false);
      if (metrics) expect(await runtime.metrics.getSingleMetricAsString('posttrain_actors')).toMatch(/posttrain_actors\{state="pending"\} 1/);
      await hog.remove();
      const actor = await waiting;
      expect(await actor.call('value')).toBe(3);
      await actor.kill();
    });

    it('creates and removes placement groups without leaking reservations', async () => {
      for (let index = 0; index < 200; index++) {
        const group = await runtime.createPlacementGroup({ bundles: [{ CPU: 0.5 }, { CPU: 0.5 }], strategy: index % 2 === 0 ? 'SPREAD' : 'PACK' });
        await group.ready();
        await group.remove();
      }
      expect(await free()).toEqual([{ CPU: 2, GPU: 4 }, { CPU: 2, GPU: 4 }]);
      if (metrics) expect(await runtime.metrics.getSingleMetricAsString('posttrain_placement_groups_pending')).toMatch(/posttrain_placement_groups_pending 0/);
    });
  });
}
