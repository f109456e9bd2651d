import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorDiedError, NamingError, ObjectLostError, Runtime, type ActorHandle, type ActorOptions } from '../../runtime/index.ts';
import type { Counter, Restartable } from './fixtures/test-actors.ts';
import { eventually, fixtures } from './helpers.ts';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await Runtime.start({ namespace: 'failures', nodes: [{ resources: { CPU: 4 } }], reaperIntervalMs: 50 });
});
afterAll(async () => {
  await runtime.shutdown();
});

function restartable(options: { maxRestarts?: number; maxTaskRetries?: number; name?: string } = {}): Promise<ActorHandle<Restartable>> {
  return runtime.createActor<typeof Restartable>({ module: fixtures, exportName: 'Restartable', role: 'trainer', resources: { CPU: 0.1 }, ...options });
}

function counter(options: Partial<ActorOptions<typeof Counter>> = {}): Promise<ActorHandle<Counter>> {
  return runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', resources: { CPU: 0.1 }, ...options });
}

async function died(promise: Promise<unknown>): Promise<ActorDiedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ActorDiedError);
  return error as ActorDiedError;
}

describe('actor failures', () => {
  it('rejects in-flight calls of a SIGKILLed worker with ActorDiedError, then restarts it (constructor re-run)', async () => {
    const actor = await restartable({ maxRestarts: 1, name: 'trainer-0' });
    const first = await actor.call('whoAmI');
    expect(first.incarnation).toBe(1);
    const inFlight = actor.call('slow', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(first.pid, 'SIGKILL');
    const error = await died(inFlight);
    expect(error.message).toMatch(/actor 'trainer-0' \(role trainer\) died while running 'slow': killed by SIGKILL/);
    expect(error.deathCause.kind).toBe('signal');
    expect(error.restarting).toBe(true);
    const second = await actor.call('whoAmI');
    expect(second.incarnation).toBe(2);
    expect(second.pid).not.toBe(first.pid);
    // Restarts exhausted: the next death is final and says so.
    const again = actor.call('slow', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(second.pid, 'SIGKILL');
    expect((await died(again)).message).toMatch(/killed by SIGKILL; restarts exhausted \(maxRestarts 1\), the actor is dead/);
    const later = await died(actor.call('whoAmI'));
    expect(later.message).toMatch(/restarts exhausted/);
    await expect(runtime.getActor('trainer-0')).rejects.toThrow(NamingError);
  });

  it('sends an interrupted call again to the restarted actor when maxTaskRetries allows', async () => {
    const actor = await restartable({ maxRestarts: 2, maxTaskRetries: 1 });
    const { pid } = await actor.call('whoAmI');
    const retried = actor.call('slow', 2000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(pid, 'SIGKILL');
    expect(await retried).toBe(2);
    await actor.kill();
  });

  it('names the exit code when a worker exits on its own', async () => {
    const actor = await counter({ role: 'reward' });
    const error = await died(actor.call('exit', 3).then(() => actor.call('sleep', 2_000)));
    expect(error.message).toMatch(/role reward\) died while running 'sleep': exited with code 3/);
    expect(error.deathCause).toMatchObject({ kind: 'exit', exitCode: 3 });
  });

  it('reports out-of-memory deaths as OOM', async () => {
    const actor = await counter({ execArgv: ['--max-old-space-size=24'], role: 'value' });
    const error = await died(actor.call('exhaustMemory'));
    expect(error.deathCause.kind).toBe('oom');
    expect(error.message).toMatch(/out of memory/);
  });

  it('kill() rejects calls in flight and does not restart the actor', async () => {
    const actor = await restartable({ maxRestarts: 3 });
    const inFlight = actor.call('slow', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await actor.kill();
    const error = await died(inFlight);
    expect(error.message).toMatch(/killed by kill\(\); the actor is dead/);
    await died(actor.call('whoAmI'));
  });

  it('gives ObjectLostError naming the owner when the owner of an object dies', async () => {
    const owner = await counter({ name: 'rollout-0', role: 'rollout' });
    const ref = await owner.call('makeArray', 1024, 1);
    expect((await ref.get()).length).toBe(1024);
    process.kill(await owner.call('pid'), 'SIGKILL');
    const error = await eventually(
      () => ref.get().then(() => undefined, (caught: unknown) => caught),
      (caught) => caught !== undefined,
    );
    expect(error).toBeInstanceOf(ObjectLostError);
    expect((error as ObjectLostError).owner).toBe('rollout-0');
    expect((error as Error).message).toMatch(/owner rollout-0 died \(rollout-0 killed by SIGKILL/);
    ref.release();
  });

  it('kills actors owned by a dead actor, but not its detached ones', async () => {
    const parent = await counter({ role: 'parent' });
    const child = await parent.call('spawnChild', false);
    const orphan = await parent.call('spawnChild', true);
    expect(await child.call('value')).toBe(1);
    await parent.kill();
    const error = await eventually(
      () => child.call('value').then(() => undefined, (caught: unknown) => caught as Error),
      (caught) => caught !== undefined,
    );
    expect(error?.message).toMatch(/its owner 'parent-a\d+' died/);
    expect(await orphan.call('value')).toBe(1);
    await orphan.kill();
  });

  it('reaps a detached actor idle past its TTL', async () => {
    const detached = await counter({ name: 'cache', detached: true, ttlMs: 300, resources: { CPU: 0.5 } });
    expect(await detached.call('add', 1)).toBe(1);
    // Watch the node's free CPU rather than calling the actor: a call is activity and would push the TTL back.
    const freeBefore = (await runtime.nodes())[0]!.free.CPU!;
    await eventually(async () => (await runtime.nodes())[0]!.free.CPU!, (free) => free >= freeBefore + 0.5);
    const error = await detached.call('value').then(() => undefined, (caught: unknown) => caught as Error);
    expect(error).toBeInstanceOf(ActorDiedError);
    expect((error as ActorDiedError).deathCause.kind).toBe('reaped');
    expect(error?.message).toMatch(/idle for longer than its TTL of 300 ms/);
    await expect(runtime.getActor('cache')).rejects.toThrow(/no live actor named 'cache'/);
  });

  it('refuses detached actors without a name', async () => {
    await expect(counter({ detached: true })).rejects.toThrow(/a detached actor must be named/);
  });
});
