import { afterAll, describe, expect, it } from 'vitest';
import { collectiveConformance, formGroup, serialReduce, values } from '../runtime/collectives/conformance.ts';
import { ProcessMember, processPool, rankWorkerCommand } from '../runtime/collectives/members.ts';
import { createNetnsCluster, type NetnsCluster, type NetnsHost } from '../../deploy/dev-cluster/netns.ts';
import { netnsAvailable } from './netns-support.ts';

/**
 * The tcp backend between real hosts: three network namespaces with their own addresses on one bridge, one rank
 * process per host (a spare lands on host 0 again, as a replacement node would).
 */
describe.skipIf(!netnsAvailable())('tcp backend, rank processes on three network-namespace hosts', () => {
  let cluster: NetnsCluster | undefined;
  const hostOf = new Map<ProcessMember, NetnsHost>();

  const suite = collectiveConformance(() => {
    const hosts = createNetnsCluster({ hosts: 3 });
    cluster = hosts;
    return processPool('tcp', 'network-namespace hosts', (index) => {
      const host = hosts.hosts[index % hosts.hosts.length] as NetnsHost;
      const { command, args, cwd } = rankWorkerCommand();
      const child = hosts.spawn(host, command, args, { cwd, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const member = new ProcessMember(child, `rank process ${index} on ${host.namespace} (${host.address})`, host.address);
      hostOf.set(member, host);
      return member;
    });
  });

  afterAll(() => {
    cluster?.destroy();
  });

  it('a partitioned host is named by the timeout on both sides, and after the link heals the group re-forms', async () => {
    const members = (await suite.pool.take(3)) as ProcessMember[];
    await formGroup('tcp', members, { timeoutMs: 60_000 });
    await Promise.all(members.map((member) => member.barrier()));
    const cut = hostOf.get(members[2]!) as NetnsHost;
    cluster?.linkDown(cut);
    try {
      const outcomes = await Promise.allSettled(members.map((member) => member.allreduce(values(1000, 5), { timeoutMs: 1_500 })));
      const errors = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason);
      expect(errors[0]).toMatchObject({ code: 'COLLECTIVE_TIMEOUT', ranks: [2] });
      expect(errors[1]).toMatchObject({ code: 'COLLECTIVE_TIMEOUT', ranks: [2] });
      expect(errors[2]).toMatchObject({ code: 'COLLECTIVE_TIMEOUT', ranks: [0, 1] });
    } finally {
      cluster?.linkUp(cut);
    }
    await Promise.all(members.map((member) => member.destroy()));
    await formGroup('tcp', members, { timeoutMs: 60_000 });
    const inputs = members.map((_, rank) => values(1000, rank));
    const results = await Promise.all(members.map((member, rank) => member.allreduce(inputs[rank]!.slice())));
    for (const result of results) expect(result).toEqual(serialReduce(inputs, 'sum'));
    await Promise.all(members.map((member) => member.destroy()));
  });
});
