import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/index.ts';
import type { Counter } from './fixtures/test-actors.ts';
import { eventually, fixtures } from './helpers.ts';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await Runtime.start({ namespace: 'listing', nodes: [{ resources: { CPU: 2, GPU: 4 } }] });
});
afterAll(async () => {
  await runtime.shutdown();
});

describe('listing actors and placement groups', () => {
  it('lists live actors with their placement group, and nothing once the group is removed', async () => {
    const group = await runtime.createPlacementGroup({ bundles: [{ CPU: 0.5, GPU: 1 }] });
    await group.ready({ timeoutMs: 5_000 });
    const counter = await runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', role: 'trial', placementGroup: group, resources: { CPU: 0.5, GPU: 1 } });
    expect(await counter.call('add', 2)).toBe(2);

    expect(await runtime.listPlacementGroups()).toEqual([expect.objectContaining({ groupId: group.id, state: 'created', bundles: [{ CPU: 0.5, GPU: 1 }] })]);
    expect(await runtime.listActors()).toEqual([
      expect.objectContaining({ role: 'trial', state: 'alive', placementGroupId: group.id, nodeId: 'node-0', resources: { CPU: 0.5, GPU: 1 } }),
    ]);

    await group.remove();
    expect(await runtime.listPlacementGroups()).toEqual([]);
    // The reservation is free at once; the killed process is reported dead when it has exited.
    expect((await runtime.nodes())[0]!.free).toEqual({ CPU: 2, GPU: 4 });
    expect(await eventually(() => runtime.listActors(), (actors) => actors.length === 0)).toEqual([]);
  });
});
