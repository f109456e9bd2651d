import { beforeAll, describe, expect, it } from 'vitest';
import {
  ActorCreationError,
  ActorDiedError,
  ActorMethodError,
  ActorModuleNotAllowedError,
  ConfigError,
  InfeasibleResourcesError,
  NamingError,
  type ActorHandle,
  type ActorOptions,
  type Runtime,
} from '../../runtime/index.ts';
import type { Counter, Grouped } from './fixtures/test-actors.ts';
import { fixtures } from './helpers.ts';
import type { RuntimeUnderTest } from './placement-group-behaviour.ts';

/**
 * Actor behaviour every runtime shares (embedded over logical nodes in `actors.test.ts`, a real cluster in
 * `test/cluster/`). The first node also offers a custom resource `ssd: 1`.
 */
export function actorBehaviour(name: string, context: () => RuntimeUnderTest): void {
  let runtime: Runtime;
  let nodes: [string, string];

  function counter(options: Partial<ActorOptions<typeof Counter>> = {}): Promise<ActorHandle<Counter>> {
    return runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', args: [10], resources: { CPU: 0.25 }, ...options });
  }

  describe(`actors (${name})`, () => {
    beforeAll(() => {
      ({ runtime, nodes } = context());
    });

    it('constructs the class with its arguments in its own process and returns typed results', async () => {
      const actor = await counter();
      expect(await actor.call('add', 5)).toBe(15);
      expect(await actor.call('value')).toBe(10 + 5);
      expect(await actor.call('pid')).not.toBe(process.pid);
      const payload = { weights: new Float32Array([1.5, -2]), tokens: new Int32Array([3, 4]), meta: { step: 7, missing: undefined, big: 2n ** 70n }, nan: NaN };
      const echoed = (await actor.call('echo', payload)) as typeof payload;
      expect(echoed.weights).toBeInstanceOf(Float32Array);
      expect([...echoed.weights]).toEqual([1.5, -2]);
      expect([...echoed.tokens]).toEqual([3, 4]);
      expect(echoed.meta).toEqual({ step: 7, big: 2n ** 70n });
      expect(echoed.nan).toBeNaN();
      await actor.kill();
    });

    it('runs calls from one caller in the order they were made', async () => {
      const actor = await counter();
      const delays = [40, 0, 25, 5, 0, 10];
      await Promise.all(delays.map((ms, index) => actor.call('appendAfter', ms, index)));
      expect(await actor.call('orderSeen')).toEqual([0, 1, 2, 3, 4, 5]);
      await actor.kill();
    });

    it('answers health from its own group while the default group is busy', async () => {
      const actor = await counter();
      const busy = actor.call('sleep', 60_000);
      const queuedBehind = actor.call('value');
      let busyDone = false;
      void busy.then(
        () => (busyDone = true),
        () => (busyDone = true),
      );
      const health = await actor.health();
      expect(health.status).toBe('ok');
      expect(health.busy.default).toBe(2);
      expect(busyDone).toBe(false);
      await actor.kill();
      await expect(busy).rejects.toThrow(ActorDiedError);
      await expect(queuedBehind).rejects.toThrow(/killed by kill\(\)/);
    });

    it('runs declared concurrency groups side by side and rejects unknown groups', async () => {
      const actor = await runtime.createActor<typeof Grouped>({ module: fixtures, exportName: 'Grouped', resources: { CPU: 0.25 } });
      const order: string[] = [];
      await Promise.all([
        actor.call('compute', 1000).then((value) => order.push(value)),
        actor.call('upload', 10).then((value) => order.push(value)),
      ]);
      expect(order).toEqual(['uploaded', 'computed']);
      await expect(actor.withOptions({ concurrencyGroup: 'nope' }).call('compute', 1)).rejects.toThrow(/no concurrency group 'nope'/);
      await actor.kill();
    });

    it('rejects with ActorMethodError carrying the remote error, and the actor keeps serving', async () => {
      const actor = await counter();
      const failure = await actor.call('fail', 'out of range').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ActorMethodError);
      expect((failure as ActorMethodError).message).toMatch(/method 'fail' threw RangeError: out of range/);
      expect((failure as ActorMethodError).remoteStack).toMatch(/test-actors\.ts/);
      await expect((actor as ActorHandle<any>).call('noSuchMethod')).rejects.toThrow(/has no method 'noSuchMethod'/);
      expect(await actor.call('add', 1)).toBe(11);
      await actor.kill();
    });

    it('lets actors call each other directly, passing handles as arguments', async () => {
      const [caller, callee] = await Promise.all([counter(), counter({ args: [100] })]);
      expect(await caller.call('callPeer', callee, 5)).toBe(105);
      expect(await callee.call('value')).toBe(105);
      await Promise.all([caller.kill(), callee.kill()]);
    });

    it('gives GPU actors CUDA_VISIBLE_DEVICES of their own devices, and none to CPU actors', async () => {
      const gpu = await counter({ resources: { CPU: 0.25, GPU: 2 } });
      const half = await counter({ resources: { CPU: 0.25, GPU: 0.5 } });
      const cpu = await counter();
      const devices = (await gpu.call('environment', 'CUDA_VISIBLE_DEVICES'))!.split(',');
      expect(devices).toHaveLength(2);
      expect((await gpu.call('context')).gpuIds).toEqual(devices);
      expect((await half.call('environment', 'CUDA_VISIBLE_DEVICES'))!.split(',')).toHaveLength(1);
      expect(await cpu.call('environment', 'CUDA_VISIBLE_DEVICES')).toBe('');
      await Promise.all([gpu.kill(), half.kill(), cpu.kill()]);
    });

    it('places by custom resource labels', async () => {
      const actor = await counter({ resources: { CPU: 0.25, ssd: 1 } });
      expect((await actor.call('context')).nodeId).toBe(nodes[0]);
      await actor.kill();
    });

    it('fails at once, naming the resource and the shortfall, for a request no node could satisfy', async () => {
      const error = await counter({ resources: { CPU: 1, GPU: 6 } }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InfeasibleResourcesError);
      expect((error as Error).message).toMatch(new RegExp(`GPU: 6 requested but the largest node \\((${nodes.join('|')})\\) has 4 in total \\(short by 2\\)`));
      await expect(counter({ resources: { CPU: 1, tpu: 1 } })).rejects.toThrow(/tpu: 1 requested but no node has any/);
    });

    it('charges every actor at least 0.01 CPU', async () => {
      const error = await counter({ resources: { CPU: 0 } }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues[0]?.path).toBe('actor.resources.CPU');
      expect((error as Error).message).toMatch(/below the minimum of 0.01 CPU per actor/);
    });

    it('requires a namespace for named actors and finds them by namespace and name', async () => {
      await expect(counter({ name: 'nameless-namespace' })).rejects.toThrow(ConfigError);
      await expect(counter({ name: 'nameless-namespace' })).rejects.toThrow(/needs a namespace \(there is no default namespace\)/);
      const named = await counter({ name: 'tally', namespace: 'team-a' });
      const other = await counter({ name: 'tally', namespace: 'team-b', args: [500] });
      await expect(counter({ name: 'tally', namespace: 'team-a' })).rejects.toThrow(NamingError);
      await expect(runtime.getActor('tally')).rejects.toThrow(/needs a namespace/);
      const found = await runtime.getActor<Counter>('tally', { namespace: 'team-b' });
      expect(await found.call('value')).toBe(500);
      await expect(runtime.getActor('tally', { namespace: 'team-c' })).rejects.toThrow(/no live actor named 'tally' in namespace 'team-c'/);
      await Promise.all([named.kill(), other.kill()]);
    });

    it('only turns allow-listed modules into actors', async () => {
      const error = await runtime.createActor({ module: '/etc/passwd', exportName: 'x' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ActorModuleNotAllowedError);
      await expect(runtime.createActor({ module: 'data:text/javascript,export class X {}', exportName: 'X' })).rejects.toThrow(ConfigError);
    });

    it('reports a failing constructor or a missing export as ActorCreationError and frees its resources', async () => {
      const broken = await runtime.createActor({ module: fixtures, exportName: 'Broken', resources: { CPU: 2 } }).catch((caught: unknown) => caught);
      expect(broken).toBeInstanceOf(ActorCreationError);
      expect((broken as Error).message).toMatch(/constructor failed: Error: constructor refuses/);
      await expect(runtime.createActor({ module: fixtures, exportName: 'Missing', resources: { CPU: 2 } })).rejects.toThrow(/no exported class 'Missing'/);
      const free = (await runtime.nodes()).filter((node) => node.alive);
      expect(free.map((node) => node.free.CPU)).toEqual([2, 2]);
    });

  });

  describe(`actor groups (${name})`, () => {
    it('fans out, scatters with a length check, addresses ranks and replaces a member', async () => {
      const group = await runtime.createActorGroup<typeof Counter>({ module: fixtures, exportName: 'Counter', size: 2, role: 'policy', args: (rank) => [rank * 100], resources: { CPU: 0.25 } });
      expect(group.size).toBe(2);
      expect(await group.callAll('add', 1)).toEqual([1, 101]);
      expect(await group.scatter('add', [[10], [20]])).toEqual([11, 121]);
      expect(() => group.scatter('add', [[1]])).toThrow(/needs one argument list per rank: group 'policy-group' has 2 ranks, got 1/);
      expect(await group.callRank(1, 'value')).toBe(121);
      expect((await group.rank(1).call('context')).group).toEqual({ name: 'policy-group', rank: 1, size: 2 });
      const spare = await counter({ args: [7] });
      const changes: number[] = [];
      group.onMembershipChange((change) => changes.push(change.rank));
      const previous = group.replace(1, spare);
      expect(changes).toEqual([1]);
      expect(group.version).toBe(1);
      expect(await group.callAll('value')).toEqual([11, 7]);
      await previous.kill();
      await group.kill();
    });
  });
}
