import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Runtime, type ActorHandle, type ActorSummary } from '../../runtime/index.ts';
import { PPOTrainer } from '../../trainers/index.ts';
import { randomModelFiles, scratchDirectory } from '../trainers/helpers.ts';
import type { Counter } from '../runtime/fixtures/test-actors.ts';
import { eventually, fixtures } from '../runtime/helpers.ts';
import { watch, type ClusterProcess } from './cluster-harness.ts';
import { startEtcdCluster, type EtcdCluster } from '../../deploy/dev-cluster/etcd.ts';
import { etcdAvailable } from './etcd-harness.ts';
import { createNetnsCluster, type NetnsCluster, type NetnsHost } from '../../deploy/dev-cluster/netns.ts';
import { netnsAvailable } from './netns-support.ts';
import { stepRecords as stepMetrics, twoNodePpoConfig } from './two-node-ppo.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const recipe = path.join(repositoryRoot, 'bin', 'recipe.js');

/**
 * A head that survives its machine, on real processes: a three-member etcd cluster, two heads and two node agents,
 * each on a network-namespace host of its own, and this test process as the driver.
 *
 * ```
 *   h0 h1 h2: etcd members      h3: head-a (elected first)     h4: head-b (standby)    later heads: on the dead one's host
 *   h5: node-0                  h6: node-1                     test process: driver, given both heads' addresses
 * ```
 *
 * The heads keep the control store in etcd (lease TTL 2 s). A tiny PPO run whose leader head is SIGKILLed after its
 * first step must write the metrics of the same run on one embedded node; the standby is elected when the leader's
 * lease expires, loads the state, and the node agents and the drivers find it without restarting. Then an actor
 * workload runs with the (new) leader SIGKILLed in the middle: the results of an untouched run, every actor still
 * the same process (none duplicated, none lost), and the cluster still schedules. A killed head is replaced by a
 * fresh standby on its host before the next test.
 * Node agents hold liveness leases in etcd (TTL = the 5 s node timeout): a node that dies while no head leads is
 * declared dead by the next leader from its lease, before that head's own heartbeat timer could.
 * The tests share the cluster and run in order.
 */
describe.skipIf(!netnsAvailable() || !etcdAvailable())('a head that survives its machine (etcd, three members)', () => {
  let net: NetnsCluster;
  let etcd: EtcdCluster;
  let runtime: Runtime;
  const token = randomBytes(24).toString('hex');
  const processes = new Map<string, ClusterProcess>();
  let headAddresses: string;
  let leader: ClusterProcess;
  let standby: ClusterProcess;
  const scratch = scratchDirectory('etcd-failover');
  const task = { name: 'sentiment' as const };
  let models: ReturnType<typeof randomModelFiles>;

  beforeEach((context) => {
    context.onTestFailed(() => {
      const report = [...processes].map(([name, process]) => `--- ${name}, last 25 lines ---\n${process.lines.slice(-25).map((line) => JSON.stringify(line)).join('\n')}`);
      console.error(`cluster logs at the failure of "${context.task.name}":\n${report.join('\n')}`);
    });
  });

  function spawnRecipe(host: NetnsHost, name: string, args: string[]): ClusterProcess {
    const env = { ...process.env, POSTTRAIN_TOKEN: token, POSTTRAIN_LOG_LEVEL: 'info', POSTTRAIN_LOG_FORMAT: 'json' };
    delete (env as Record<string, string | undefined>).VITEST;
    const child = net.spawn(host, process.execPath, [recipe, ...args], { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const watched = watch(child, name);
    processes.set(name, watched);
    return watched;
  }

  const isLine = (prefix: string) => (line: Record<string, unknown>) => typeof line.msg === 'string' && line.msg.startsWith(prefix);

  function startHead(host: NetnsHost, name: string): ClusterProcess {
    return spawnRecipe(host, name, [
      'cluster', 'start', '--head', '--host', host.address, '--port', '6380', '--etcd', etcd.endpoints.join(','), '--etcd-lease-ttl', '2',
      '--heartbeat-ms', '200', '--node-timeout-ms', '5000', '--driver-timeout-ms', '15000', '--keepalive-ms', '1000',
    ]);
  }

  function startNode(host: NetnsHost, name: string): ClusterProcess {
    return spawnRecipe(host, name, [
      'cluster', 'join', headAddresses, '--host', host.address, '--node-name', name, '--num-cpus', '2', '--num-gpus', '0',
      '--memory', String(2 ** 30), '--object-store-memory', String(2 ** 28), '--keepalive-ms', '1000',
    ]);
  }

  async function kill(target: ClusterProcess): Promise<void> {
    const exited = new Promise((resolve) => target.child.once('exit', resolve));
    process.kill(-(target.child.pid as number), 'SIGKILL');
    await exited;
  }

  /**
   * The leader was killed and the standby leads: start a new standby on the dead leader's host. The next test waits
   * for it to stand by (`standingBy`), so its start overlaps the end of this one.
   */
  async function replaceLeader(name: string): Promise<void> {
    const host = net.hosts.find((candidate) => leader.child.spawnargs.includes(candidate.namespace)) as NetnsHost;
    await standby.waitForLine(isLine('elected leader'));
    leader = standby;
    standby = startHead(host, name);
  }

  const standingBy = () => standby.waitForLine(isLine('head standing by'));

  beforeAll(async () => {
    models = randomModelFiles(scratch.path, task);
    net = createNetnsCluster({ hosts: 7, attachTestProcess: true });
    const hosts = net.hosts;
    etcd = await startEtcdCluster(net, hosts.slice(0, 3));
    headAddresses = `${hosts[3]!.address}:6380,${hosts[4]!.address}:6380`;
    leader = startHead(hosts[3]!, 'head-a');
    await leader.waitForLine(isLine('head listening on'));
    standby = startHead(hosts[4]!, 'head-b');
    await standby.waitForLine(isLine('head standing by'));
    await Promise.all([startNode(hosts[5]!, 'node-0'), startNode(hosts[6]!, 'node-1')].map((node) => node.waitForLine(isLine('registered with the head as'))));
    runtime = await Runtime.start({
      address: headAddresses,
      host: net.testAddress as string,
      token,
      namespace: 'failover',
      clusterTimeouts: { keepaliveMs: 1_000, keepaliveTimeoutMs: 1_000, objectFetchTimeoutMs: 5_000, headRequestTimeoutMs: 30_000 },
    });
  }, 120_000);

  afterAll(async () => {
    await runtime?.shutdown().catch(() => {});
    for (const process of processes.values()) {
      if (process.child.exitCode === null && process.child.signalCode === null) globalThis.process.kill(-(process.child.pid as number), 'SIGKILL');
    }
    await etcd?.stop();
    net?.destroy();
    scratch.remove();
  });

  /** The recipe of `cluster-ppo.test.ts`: policy (with rollout, reference, reward) on node-0, value on node-1. */
  const ppoConfig = (name: string, address: string | undefined) =>
    twoNodePpoConfig(name, { address, pinned: address !== undefined, task, models, logDirectory: scratch.path });
  const stepRecords = (name: string) => stepMetrics(path.join(scratch.path, name, 'metrics.jsonl'));

  it('a PPO run whose leader head is SIGKILLed after step 1 finishes with the uninterrupted metrics, on the same actors', async () => {
    await new PPOTrainer(ppoConfig('uninterrupted', undefined)).train();
    let listed: Promise<ActorSummary[]> | undefined;
    let killed: Promise<void> | undefined;
    const previousToken = process.env.POSTTRAIN_TOKEN;
    process.env.POSTTRAIN_TOKEN = token;
    try {
      const trainer = new PPOTrainer(ppoConfig('failed-over', headAddresses));
      trainer.on('step', (record: { step: number }) => {
        if (record.step !== 1) return;
        // The roles' actors as the leader knows them, then the leader dies. Steps 2 and 3 need no head (the roles
        // call each other directly), so the run may even end before the standby leads; the roles' actors are then
        // released by the new leader when the trainer's driver says goodbye.
        listed = runtime.listActors().then((actors) => {
          killed = kill(leader);
          return actors;
        });
      });
      await trainer.train();
    } finally {
      if (previousToken === undefined) delete process.env.POSTTRAIN_TOKEN;
      else process.env.POSTTRAIN_TOKEN = previousToken;
    }
    const before = (await listed) as ActorSummary[];
    await killed;
    expect(stepRecords('failed-over')).toEqual(stepRecords('uninterrupted'));
    expect(stepRecords('uninterrupted').map((record) => record.step)).toEqual([1, 2, 3]);
    // The new leader took back exactly the roles' actors (none duplicated, none lost) and released each once.
    expect(before.length).toBeGreaterThan(0);
    const recovered = await standby.waitForLine(isLine('head recovered its state'));
    expect(recovered.actors).toBe(before.length);
    const ended = standby.lines.filter((line) => typeof line.msg === 'string' && /^actor \S+ ended:/.test(line.msg)).map((line) => String(line.msg).split(' ')[1]);
    expect(ended.sort()).toEqual(before.map((actor) => actor.displayName).sort());
    const strays = [...processes.values()].flatMap((process) => process.lines).filter((line) => typeof line.msg === 'string' && line.msg.includes('which this head does not know'));
    expect(strays).toEqual([]);
    await replaceLeader('head-c');
  }, 240_000);

  /**
   * Four counters over both nodes, then rounds of calls: every counter adds, a named counter is looked up through the
   * head, and a key is written and read back through the head. `during(round)` runs before each round's calls.
   */
  async function workload(tag: string, during: (round: number) => Promise<void>) {
    const counters: ActorHandle<Counter>[] = [];
    for (let index = 0; index < 4; index++) {
      counters.push(await runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', args: [10 * index], name: `${tag}-${index}`, resources: { CPU: 0.25, [`node:node-${index % 2}`]: 0.01 } }));
    }
    const pids = await Promise.all(counters.map((counter) => counter.call('pid')));
    const results: unknown[] = [];
    for (let round = 0; round < 6; round++) {
      await during(round);
      results.push(await Promise.all(counters.map((counter, index) => counter.call('add', round + index))));
      const named = await runtime.getActor<Counter>(`${tag}-${round % 4}`);
      await runtime.putKey('workload', tag, String(round));
      results.push([await named.call('value'), await runtime.getKey('workload', tag)]);
    }
    return { counters, pids, results };
  }

  /** What the workload returns when nothing happens to it: counter i starts at 10 i and adds round + i each round. */
  function uninterruptedResults(): unknown[] {
    const values = [0, 10, 20, 30];
    return Array.from({ length: 6 }, (_, round) => {
      values.forEach((value, index) => (values[index] = value + round + index));
      return [[...values], [values[round % 4], String(round)]];
    }).flat();
  }

  it('the leader head SIGKILLed mid-run: the standby takes over, the run finishes with the uninterrupted results, no actor duplicated or lost', async () => {
    await standingBy();
    const nodesBefore = await runtime.nodes();
    const [killedHead, newLeader] = [leader, standby];
    const agentPids = ['node-0', 'node-1'].map((name) => processes.get(name)?.child.pid);

    const failedOver = await workload('failover', async (round) => {
      if (round === 3) await kill(killedHead);
    });

    expect(failedOver.results).toEqual(uninterruptedResults());
    // The standby was elected and the nodes came back to it under the epochs they had: nothing was re-registered.
    await newLeader.waitForLine(isLine('elected leader'));
    for (const node of nodesBefore) await newLeader.waitForLine((line) => line.msg === `node ${node.nodeId} reconnected (epoch ${node.epoch})`);
    const nodesAfter = await runtime.nodes();
    expect(nodesAfter.map((node) => [node.nodeId, node.alive, node.epoch]).sort()).toEqual(nodesBefore.map((node) => [node.nodeId, node.alive, node.epoch]).sort());
    // Every actor is known once, alive, and is still the process it was.
    const actors = await runtime.listActors();
    expect(actors.map((actor) => actor.displayName).sort()).toEqual(['failover-0', 'failover-1', 'failover-2', 'failover-3']);
    expect(new Set(actors.map((actor) => actor.actorId)).size).toBe(4);
    expect(actors.every((actor) => actor.state === 'alive')).toBe(true);
    expect(await Promise.all(failedOver.counters.map((counter) => counter.call('pid')))).toEqual(failedOver.pids);
    expect(['node-0', 'node-1'].map((name) => processes.get(name)?.child.pid)).toEqual(agentPids);
    expect(['node-0', 'node-1'].every((name) => processes.get(name)?.child.exitCode === null)).toBe(true);
    const strays = [...processes.values()].flatMap((process) => process.lines).filter((line) => typeof line.msg === 'string' && line.msg.includes('which this head does not know'));
    expect(strays).toEqual([]);
    // The new leader schedules: a new actor starts, and a node's free CPU counts every actor placed before.
    const newcomer = await runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', args: [1], resources: { CPU: 0.25 } });
    expect(await newcomer.call('add', 1)).toBe(2);
    expect((await runtime.nodes()).map((node) => node.free.CPU).reduce((sum, free) => (sum as number) + (free as number), 0)).toBe(4 - 5 * 0.25);
    // Each node's liveness is a key under its own lease in etcd, holding its epoch.
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      const leases = await client.getAll().prefix('posttrain/node-leases/').strings();
      expect(leases).toEqual(Object.fromEntries(nodesBefore.map((node) => [`posttrain/node-leases/${node.nodeId}`, String(node.epoch)])));
    } finally {
      client.close();
    }
    await replaceLeader('head-d');
  }, 120_000);

  it('a node that dies while no head leads is declared dead by the next leader from its expired lease, not after a node timeout of its own', async () => {
    await standingBy();
    const epochs = new Map((await runtime.nodes()).map((node) => [node.nodeId, node.epoch]));
    await Promise.all([kill(leader), kill(processes.get('node-1') as ClusterProcess)]);
    await standby.waitForLine(isLine('elected leader'));
    await standby.waitForLine((line) => line.msg === `node node-0 reconnected (epoch ${epochs.get('node-0')})`);
    // The lease ends one TTL (5 s) after the kill; this head's own timer would wait 5 s + 2.5 s from its takeover.
    const nodes = await eventually(() => runtime.nodes(), (all) => all.some((node) => node.nodeId === 'node-1' && !node.alive));
    const dead = nodes.find((node) => node.nodeId === 'node-1');
    expect(dead?.deathReason).toMatch(/liveness lease in etcd/);
    expect(nodes.find((node) => node.nodeId === 'node-0')).toMatchObject({ alive: true, epoch: epochs.get('node-0') });
  }, 60_000);
});
