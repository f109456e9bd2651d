import { describe, expect, it } from 'vitest';
import type { ActorRecord, ControlStore } from '../../runtime/control/control-store.ts';

/** An actor record with encoded constructor arguments holding raw bytes, as the head stores them. */
export function sampleActor(actorId: string): ActorRecord {
  return {
    actorId,
    displayName: `policy-${actorId}`,
    spec: {
      module: 'file:///project/policy-actor.ts',
      exportName: 'PolicyActor',
      args: { json: '[{"$pt":"ta","k":"f32","i":0}]', buffers: [new Uint8Array(new Float32Array([0.5, -1]).buffer)] },
      role: 'policy',
      resources: { CPU: 0.5, GPU: 1 },
      maxRestarts: 1,
      maxTaskRetries: 0,
      maxConcurrency: 1,
      concurrencyGroups: { io: { maxConcurrency: 2, methods: ['upload'] } },
      detached: false,
      env: {},
      execArgv: [],
      group: { name: 'policy-group', rank: 0, size: 2 },
    },
    owner: 'driver-1',
    state: 'alive',
    incarnation: 2,
    restarts: 1,
    nodeId: 'node-1',
    gpuIds: ['0'],
    clientId: `${actorId}.2`,
    address: 'grpc:198.18.0.2:4000',
    deaths: { 1: { kind: 'signal', reason: 'killed by SIGKILL', exitCode: null, signal: 'SIGKILL' } },
    lastActivityMs: 1234,
  };
}

/**
 * The one contract every control store keeps (in memory for the embedded head, SQLite or etcd for a cluster head).
 * `makeStore` may be async (etcd's store loads its tables first); each call gives an empty store. A persistent store
 * also gives `reopen`: what a restarted (or a standby) head would load from where `store` wrote, checked against what
 * `store` answers.
 */
export function controlStoreConformance(name: string, makeStore: () => ControlStore | Promise<ControlStore>, reopen?: (store: ControlStore) => Promise<ControlStore>): void {
  const tables = (store: ControlStore) => ({ nodes: store.listNodes(), actors: store.listActors(), groups: store.listPlacementGroups(), jobs: store.listJobs() });
  describe(`control store conformance: ${name}`, () => {
    it('stores, replaces, lists and deletes records of every table, raw bytes included', async () => {
      const store = await makeStore();
      store.putNode({ nodeId: 'node-1', resources: { CPU: 2, GPU: 4 }, gpuIds: ['0', '1', '2', '3'], alive: true, epoch: 3, address: 'grpc:198.18.0.2:4000' });
      store.putNode({ nodeId: 'node-1', resources: { CPU: 2, GPU: 4 }, gpuIds: ['0', '1', '2', '3'], alive: false, epoch: 3, deathReason: 'no heartbeat for 3000 ms' });
      expect(store.listNodes()).toEqual([expect.objectContaining({ nodeId: 'node-1', alive: false, deathReason: 'no heartbeat for 3000 ms' })]);
      store.putActor(sampleActor('a1'));
      store.putActor(sampleActor('a2'));
      const stored = store.getActor('a1') as ActorRecord;
      expect(stored).toEqual(sampleActor('a1'));
      expect(new Float32Array(stored.spec.args.buffers[0]!.slice().buffer)).toEqual(new Float32Array([0.5, -1]));
      store.deleteActor('a2');
      expect(store.listActors().map((actor) => actor.actorId)).toEqual(['a1']);
      store.putPlacementGroup({ groupId: 'pg1', displayName: 'pg1', strategy: 'STRICT_SPREAD', bundles: [{ CPU: 1 }, { CPU: 1 }], state: 'created', bundleNodes: ['node-1', undefined], owner: 'driver-1' });
      expect(store.getPlacementGroup('pg1')?.bundleNodes).toEqual(['node-1', undefined]);
      store.deletePlacementGroup('pg1');
      expect(store.listPlacementGroups()).toEqual([]);
      store.putJob({ jobId: 'driver-1', state: 'running', startedMs: 1 });
      store.putJob({ jobId: 'driver-1', state: 'finished', startedMs: 1, endedMs: 2 });
      expect(store.listJobs()).toEqual([{ jobId: 'driver-1', state: 'finished', startedMs: 1, endedMs: 2 }]);
      if (reopen) expect(tables(await reopen(store))).toEqual(tables(store));
    });

    it('binds a name once per kind and namespace', async () => {
      const store = await makeStore();
      expect(store.bindName('actor', 'ppo', 'policy-0', 'a1')).toBe(true);
      expect(store.bindName('actor', 'ppo', 'policy-0', 'a2')).toBe(false);
      expect(store.bindName('actor', 'dpo', 'policy-0', 'a3')).toBe(true);
      expect(store.bindName('placement-group', 'ppo', 'policy-0', 'pg1')).toBe(true);
      expect(store.lookupName('actor', 'ppo', 'policy-0')).toBe('a1');
      store.unbindName('actor', 'ppo', 'policy-0');
      expect(store.lookupName('actor', 'ppo', 'policy-0')).toBeUndefined();
      expect(store.lookupName('actor', 'dpo', 'policy-0')).toBe('a3');
      if (reopen) {
        const again = await reopen(store);
        expect([again.lookupName('actor', 'ppo', 'policy-0'), again.lookupName('actor', 'dpo', 'policy-0'), again.lookupName('placement-group', 'ppo', 'policy-0')]).toEqual([undefined, 'a3', 'pg1']);
      }
    });

    it('keeps keys per namespace and counts sequences from 1 without reuse', async () => {
      const store = await makeStore();
      store.putKey('collectives', 'policy', '{"id":1}');
      store.putKey('collectives', 'policy', '{"id":2}');
      expect(store.getKey('collectives', 'policy')).toBe('{"id":2}');
      expect(store.getKey('other', 'policy')).toBeUndefined();
      store.deleteKey('collectives', 'policy');
      expect(store.getKey('collectives', 'policy')).toBeUndefined();
      expect([store.nextSequence('actor'), store.nextSequence('actor'), store.nextSequence('epoch')]).toEqual([1, 2, 1]);
      if (reopen) {
        store.putKey('collectives', 'value', '{"id":3}');
        const again = await reopen(store);
        expect([again.getKey('collectives', 'policy'), again.getKey('collectives', 'value'), again.nextSequence('actor'), again.nextSequence('epoch')]).toEqual([undefined, '{"id":3}', 3, 2]);
      }
    });
  });
}
