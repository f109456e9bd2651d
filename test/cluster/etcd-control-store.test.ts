import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlStore } from '../../runtime/control/control-store.ts';
import { EtcdControlStore } from '../../runtime/cluster/etcd-control-store.ts';
import { controlStoreConformance, sampleActor } from '../runtime/control-store-conformance.ts';
import { startLocalEtcd, type EtcdCluster } from '../../deploy/dev-cluster/etcd.ts';
import { etcdAvailable } from './etcd-harness.ts';

/**
 * The etcd control store keeps the contract the in-memory and SQLite stores keep (the same suite), on a real
 * single-member etcd started for this file; `reopen` loads a second store from the same prefix, as a standby head
 * does when it takes over, after the first one's writes are committed.
 */
describe.skipIf(!etcdAvailable())('etcd control store', () => {
  let etcd: EtcdCluster;
  let client: Etcd3;
  const prefix = () => `posttrain-test-${randomBytes(4).toString('hex')}/`;
  const prefixes = new Map<ControlStore, string>();

  beforeAll(async () => {
    etcd = await startLocalEtcd();
    client = new Etcd3({ hosts: etcd.endpoints });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await etcd?.stop();
  });

  async function open(at: string): Promise<EtcdControlStore> {
    const store = await EtcdControlStore.open({ client, prefix: at });
    prefixes.set(store, at);
    return store;
  }

  controlStoreConformance(
    'etcd',
    () => open(prefix()),
    async (store) => {
      await (store as EtcdControlStore).flushed();
      return open(prefixes.get(store) as string);
    },
  );

  it('commits a burst of writes in order (the last write of a key wins), raw bytes intact', async () => {
    const at = prefix();
    const store = await open(at);
    // More writes than one transaction takes: 250 puts over 7 actors, then a delete.
    for (let index = 0; index < 250; index++) store.putActor({ ...sampleActor(`a${index % 7}`), lastActivityMs: index });
    store.deleteActor('a6');
    await store.flushed();
    const again = await open(at);
    expect(again.listActors().map((actor) => [actor.actorId, actor.lastActivityMs])).toEqual([['a0', 245], ['a1', 246], ['a2', 247], ['a3', 248], ['a4', 249], ['a5', 243]]);
    expect(again.getActor('a0')).toEqual({ ...sampleActor('a0'), lastActivityMs: 245 });
  });

  it('writes nothing once its fence key is gone (a deposed head), and says so', async () => {
    const at = prefix();
    const fenceKey = `${at}election/head/test-lease`;
    await client.put(fenceKey).value('grpc:198.18.0.1:6380');
    const fenced: string[] = [];
    const store = await EtcdControlStore.open({ client, prefix: at, fenceKey, onFenced: (reason) => fenced.push(reason) });
    store.putKey('collectives', 'before', '1');
    await store.flushed();
    await client.delete().key(fenceKey);
    store.putKey('collectives', 'after', '2');
    await expect(store.flushed()).rejects.toThrow(/no longer leads the cluster: its fence key .* is gone/);
    expect(fenced).toHaveLength(1);
    const again = await open(at);
    expect([again.getKey('collectives', 'before'), again.getKey('collectives', 'after')]).toEqual(['1', undefined]);
  });

  it('refuses tables written by a newer schema, naming the prefix', async () => {
    const at = prefix();
    await client.put(`${at}schema`).value('99');
    await expect(EtcdControlStore.open({ client, prefix: at })).rejects.toThrow(new RegExp(`'${at}' in etcd was written by a newer posttrain \\(schema 99`));
  });
});
