import { connect } from 'node:net';
import { Client, Metadata, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorDiedError, ActorUnavailableError, ObjectLostError, PlacementGroupTimeoutError, type ActorHandle, type Runtime } from '../../runtime/index.ts';
import { GrpcCallError } from '../../runtime/cluster/cluster-errors.ts';
import { loadClusterSecurity } from '../../runtime/cluster/grpc/cluster-security.ts';
import { CHANNEL_SERVICE } from '../../runtime/cluster/grpc/grpc-services.ts';
import { GrpcTransport } from '../../runtime/cluster/grpc/grpc-transport.ts';
import { encodeFrame } from '../../runtime/transport/frame-codec.ts';
import { FrameKind } from '../../runtime/transport/transport.ts';
import type { Counter } from '../runtime/fixtures/test-actors.ts';
import { eventually, fixtures } from '../runtime/helpers.ts';
import { printClusterLogsOnFailure, startTestCluster, type TestCluster } from './cluster-harness.ts';
import { netnsAvailable } from './netns-support.ts';

/** Open a Channel/Open call by hand and send `messages`; resolves with the status the head ends it with. */
function rawCall(address: string, token: string | undefined, messages: Buffer[]): Promise<{ code: number; details: string }> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  const identity = (bytes: Buffer) => bytes;
  const call = client.makeBidiStreamRequest(CHANNEL_SERVICE.open.path, identity, identity, metadata);
  return new Promise((resolve) => {
    const replies: Buffer[] = [];
    call.on('data', (reply: Buffer) => replies.push(reply));
    call.on('error', () => {});
    call.on('status', (status) => {
      client.close();
      resolve({ code: status.code, details: status.details });
    });
    for (const message of messages) call.write(message);
    // A well-formed frame is answered and the call stays open: end it once the answer is in.
    setTimeout(() => call.end(), 1_000);
  });
}

function frame(route: string, body: string): Buffer {
  return Buffer.concat(encodeFrame({ kind: FrameKind.Request, id: 1, route, body, buffers: [] }));
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Failures on a real cluster (head and two nodes in network namespaces, 200 ms heartbeats, 2.5 s node timeout):
 * hostile calls, the head killed and restarted, a node partitioned and healed, a node SIGKILLed. The tests share
 * one cluster and run in this order (the last one takes node-0 away for good).
 */
describe.skipIf(!netnsAvailable())('cluster failures', () => {
  let cluster: TestCluster;
  printClusterLogsOnFailure(() => cluster);
  let runtime: Runtime;

  beforeAll(async () => {
    cluster = await startTestCluster({ nodes: [{ name: 'node-0', resources: { CPU: 2 } }, { name: 'node-1', resources: { CPU: 2 } }] });
    runtime = await cluster.driver({ namespace: 'failures' });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    cluster?.destroy();
  });

  function on(node: string, options: { name?: string; maxRestarts?: number; maxTaskRetries?: number; cpu?: number } = {}): Promise<ActorHandle<Counter>> {
    const pin = options.maxRestarts ? {} : { [`node:${node}`]: 0.01 };
    return runtime.createActor<typeof Counter>({
      module: fixtures,
      exportName: 'Counter',
      args: [10],
      resources: { CPU: options.cpu ?? 0.25, ...pin },
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.maxRestarts === undefined ? {} : { maxRestarts: options.maxRestarts }),
      ...(options.maxTaskRetries === undefined ? {} : { maxTaskRetries: options.maxTaskRetries }),
    });
  }

  /** Stop a worker process for `ms` (longer than the 1 s keepalive plus its 1 s timeout: its links drop), then let it go on. */
  async function freeze(pid: number, ms: number): Promise<void> {
    process.kill(pid, 'SIGSTOP');
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }

  it('refuses calls without the token, with a wrong one, or with garbage, logs the peer, and keeps serving', async () => {
    const head = `grpc:${cluster.headAddress}`;
    const fast = { connectTimeoutMs: 2_000, attemptTimeoutMs: 1_000 };
    const noToken = await new GrpcTransport({ security: { token: undefined, tls: undefined }, ...fast }).connect(head, 'head').catch((error: unknown) => error);
    expect(noToken).toBeInstanceOf(GrpcCallError);
    expect(noToken).toMatchObject({ status: GrpcStatus.UNAUTHENTICATED });
    const wrongToken = await new GrpcTransport({ security: loadClusterSecurity({ token: 'not-the-cluster-token-0000' }, {}), ...fast }).connect(head, 'head').catch((error: unknown) => error);
    expect(wrongToken).toMatchObject({ code: 'GRPC_UNAUTHENTICATED' });
    const headLog = cluster.head!;
    const refusals = await eventually(
      () => headLog.lines.filter((line) => line.method === 'Channel/Open' && typeof line.peer === 'string' && (line.peer as string).includes(cluster.net.testAddress as string)),
      (lines) => lines.length >= 2,
    );
    expect(refusals.map((line) => line.reason)).toEqual(expect.arrayContaining(['no token', 'a wrong token']));

    const garbage = await rawCall(cluster.headAddress, cluster.token, [Buffer.from('GET / HTTP/1.1\r\n\r\n, certainly not a frame')]);
    expect(garbage.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    const shortFrame = await rawCall(cluster.headAddress, cluster.token, [Buffer.from([4, 0, 0, 0, 1, 2, 3, 4])]);
    expect(shortFrame.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    // Well-formed frames with nonsense inside are answered with errors, not crashes: a bad body, a bad registration.
    const nonsense = await rawCall(cluster.headAddress, cluster.token, [frame('createActor', '{not json'), frame('register', '[{"nodeId":"../../etc"}]')]);
    expect(nonsense.code).toBe(GrpcStatus.OK);
    // Bytes that are not HTTP/2 at all; the server may keep such a connection open, so the test hangs up itself.
    await new Promise<void>((resolve) => {
      const socket = connect(6380, cluster.headAddress.split(':')[0] as string, () => socket.write(Buffer.alloc(4096, 0xff)));
      const done = () => {
        socket.destroy();
        resolve();
      };
      socket.on('close', done);
      socket.on('error', done);
      setTimeout(done, 500);
    });

    expect(cluster.head!.child.exitCode).toBeNull();
    expect((await runtime.nodes()).filter((node) => node.alive).map((node) => node.nodeId).sort()).toEqual(['node-0', 'node-1']);
    const actor = await on('node-1');
    expect(await actor.call('add', 1)).toBe(11);
    await actor.kill();
  });

  it('a worker silent past the keepalive (stopped, then resumed) is reached again: the call in flight rejects with ActorUnavailableError or is resent under maxTaskRetries, later calls reach the same process', async () => {
    const plain = await on('node-1');
    const retried = await on('node-1', { maxTaskRetries: 1 });
    expect(await plain.call('add', 5)).toBe(15);
    const [plainPid, retriedPid] = [await plain.call('pid'), await retried.call('pid')];
    const inFlight = plain.call('sleep', 3_000).then(() => 'finished', (error: unknown) => error);
    const resent = retried.call('sleep', 3_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all([freeze(plainPid, 4_000), freeze(retriedPid, 4_000)]);
    const interrupted = await inFlight;
    expect(interrupted).toBeInstanceOf(ActorUnavailableError);
    expect((interrupted as Error).message).toMatch(/link to actor 'Counter-a\d+' \(role Counter\) dropped while 'sleep' was in flight; the actor is alive/);
    expect(await resent).toBe(3_000);
    // The same processes, state kept: nothing restarted, only the links were opened again.
    expect(await plain.call('add', 1)).toBe(16);
    expect(await plain.call('pid')).toBe(plainPid);
    expect(await retried.call('pid')).toBe(retriedPid);
    await Promise.all([plain.kill(), retried.kill()]);
  });

  it('killing and restarting the head keeps running actors alive, and new actors can be created afterwards', async () => {
    const survivor = await on('node-0', { name: 'survivor' });
    expect(await survivor.call('add', 5)).toBe(15);
    const pid = await survivor.call('pid');
    const nodesBefore = await runtime.nodes();
    await cluster.kill(cluster.head, 'SIGKILL');
    // Calls go straight to the worker: they do not need the head.
    expect(await survivor.call('add', 1)).toBe(16);
    const restarted = await cluster.startHead();
    await restarted.waitForLine((line) => line.msg === 'node node-0 reconnected (epoch ' + nodesBefore.find((node) => node.nodeId === 'node-0')?.epoch + ')');
    await restarted.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('node node-1 reconnected'));
    expect(await survivor.call('value')).toBe(16);
    expect(await survivor.call('pid')).toBe(pid);
    const found = await runtime.getActor<Counter>('survivor');
    expect(await found.call('value')).toBe(16);
    const newcomer = await on('node-1');
    expect(await newcomer.call('add', 2)).toBe(12);
    const nodesAfter = await runtime.nodes();
    expect(nodesAfter.map((node) => [node.nodeId, node.alive, node.epoch]).sort()).toEqual(nodesBefore.map((node) => [node.nodeId, node.alive, node.epoch]).sort());
    expect(nodesAfter.find((node) => node.nodeId === 'node-0')?.free.CPU).toBe(2 - 0.25);
    await Promise.all([survivor.kill(), newcomer.kill()]);
  });

  it('a partitioned node is declared dead (actors fail or restart elsewhere, bundles wait), and after healing it is fenced and rejoins: no ghost node, no duplicate actor', async () => {
    const victim = await on('node-1');
    // Room is arranged so that the restartable actor lands on node-1 now and fits on node-0 once the blocker goes.
    const blocker = await on('node-0', { cpu: 1 });
    const spread = await runtime.createPlacementGroup({ bundles: [{ CPU: 0.25 }, { CPU: 0.25 }], strategy: 'STRICT_SPREAD' });
    await spread.ready({ timeoutMs: 5_000 });
    const phoenix = await on('node-1', { maxRestarts: 1, cpu: 1.5 });
    const firstLife = await phoenix.call('context');
    expect(firstLife.nodeId).toBe('node-1');
    const [victimPid, phoenixPid] = [await victim.call('pid'), await phoenix.call('pid')];
    const ref = await victim.call('makeArray', 1000, 1);
    const epochBefore = (await runtime.nodes()).find((node) => node.nodeId === 'node-1')?.epoch as number;
    const inFlight = victim.call('sleep', 120_000);
    const host = cluster.nodes.get('node-1')!.host;
    cluster.net.linkDown(host);
    try {
      const error = await inFlight.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ActorDiedError);
      expect((error as Error).message).toMatch(/its node node-1 \(grpc:[\d.]+:\d+\) was lost: no heartbeat for \d+ ms \(node timeout 2500 ms\); the actor is dead/);
      await expect(victim.call('value')).rejects.toThrow(/its node node-1 .*was lost/);
      await blocker.kill();
      const secondLife = await eventually(() => phoenix.call('context'), (context) => context.nodeId === 'node-0');
      expect(secondLife).toMatchObject({ nodeId: 'node-0', incarnation: 2 });
      await expect(ref.get()).rejects.toThrow(ObjectLostError);
      await expect(spread.ready({ timeoutMs: 300 })).rejects.toThrow(PlacementGroupTimeoutError);
      const during = await runtime.nodes();
      expect(during.find((node) => node.nodeId === 'node-1')).toMatchObject({ alive: false, deathReason: expect.stringMatching(/no heartbeat/) });
    } finally {
      cluster.net.linkUp(host);
    }
    const agent = cluster.nodes.get('node-1')!.process!;
    await agent.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('the head fenced this node off'));
    await agent.waitForLine((line) => typeof line.msg === 'string' && /^registered (with the head|again) as node-1 \(epoch \d+\)/.test(line.msg) && (line.epoch as number) > epochBefore);
    // The STRICT_SPREAD bundle needed a second node: it is placed again on the node that came back.
    await spread.ready({ timeoutMs: 10_000 });
    expect(new Set(spread.bundleNodes)).toEqual(new Set(['node-0', 'node-1']));
    const nodes = await runtime.nodes();
    expect(nodes.map((node) => node.nodeId).sort()).toEqual(['node-0', 'node-1']);
    expect(nodes.every((node) => node.alive)).toBe(true);
    expect(nodes.find((node) => node.nodeId === 'node-1')?.epoch).toBeGreaterThan(epochBefore);
    expect(nodes.find((node) => node.nodeId === 'node-1')?.free.CPU).toBe(2 - 0.25);
    // The stale workers were killed by their own node when it was fenced: one phoenix, on node-0.
    await eventually(() => processGone(victimPid) && processGone(phoenixPid), (gone) => gone);
    expect(await phoenix.call('context')).toMatchObject({ nodeId: 'node-0', incarnation: 2 });
    await Promise.all([phoenix.kill(), spread.remove()]);
  });

  it('SIGKILL of a node agent and its workers fails its actors with node-loss errors after the node timeout, and its objects are lost', async () => {
    const doomed = await on('node-0');
    const ref = await doomed.call('makeArray', 1000, 2);
    const inFlight = doomed.call('sleep', 120_000);
    const agent = cluster.nodes.get('node-0')!.process;
    await cluster.kill(agent, 'SIGKILL');
    const error = await inFlight.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ActorDiedError);
    expect((error as ActorDiedError).deathCause.kind).toBe('node-lost');
    expect((error as Error).message).toMatch(/its node node-0 \(grpc:[\d.]+:\d+\) was lost: no heartbeat for \d+ ms \(node timeout 2500 ms\)/);
    await expect(doomed.call('value')).rejects.toThrow(ActorDiedError);
    const lost = await ref.get().catch((caught: unknown) => caught);
    expect(lost).toBeInstanceOf(ObjectLostError);
    expect((lost as Error).message).toMatch(/node node-0 .*was lost/);
    const nodes = await runtime.nodes();
    expect(nodes.find((node) => node.nodeId === 'node-0')).toMatchObject({ alive: false });
    expect(nodes.find((node) => node.nodeId === 'node-1')).toMatchObject({ alive: true });
  });
});
