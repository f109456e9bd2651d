import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime, type ActorHandle, type ActorOptions } from '../../runtime/index.ts';
import { actorBehaviour } from './actor-behaviour.ts';
import type { Counter } from './fixtures/test-actors.ts';
import { capturingLogger, eventually, fixtures } from './helpers.ts';

// One runtime for the file: two logical nodes of { CPU: 2, GPU: 4 }, as the issue describes.
let runtime: Runtime;
const { logger, lines } = capturingLogger();

beforeAll(async () => {
  runtime = await Runtime.start({
    logger,
    nodes: [{ name: 'node-a', resources: { CPU: 2, GPU: 4, ssd: 1 } }, { name: 'node-b', resources: { CPU: 2, GPU: 4 } }],
  });
});
afterAll(async () => {
  await runtime.shutdown();
});

function counter(options: Partial<ActorOptions<typeof Counter>> = {}): Promise<ActorHandle<Counter>> {
  return runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', args: [10], resources: { CPU: 0.25 }, ...options });
}

actorBehaviour('embedded, two logical nodes', () => ({ runtime, nodes: ['node-a', 'node-b'], metrics: true }));

describe('actors of the embedded runtime', () => {
  it("forwards the worker's stdout and stderr to the driver's log with the actor's name", async () => {
    const actor = await counter({ name: 'talker', namespace: 'logs', role: 'speaker' });
    await actor.call('say', 'hello from the worker');
    const line = await eventually(
      () => lines.find((entry) => typeof entry.msg === 'string' && entry.msg.includes('hello from the worker') && entry.stream === 'stdout'),
      (found) => found !== undefined,
    );
    expect(line).toMatchObject({ msg: '[talker] hello from the worker', actor: 'talker', role: 'speaker' });
    const errLine = await eventually(() => lines.find((entry) => entry.msg === '[talker] err:hello from the worker'), (found) => found !== undefined);
    expect(errLine).toMatchObject({ stream: 'stderr', actor: 'talker', node: expect.stringMatching(/^node-[ab]$/) });
    await actor.kill();
  });

  it('exports actor, object-store, placement and call-latency metrics', async () => {
    const actor = await counter({ role: 'metered' });
    await actor.call('add', 1);
    const text = await runtime.metrics.metrics();
    expect(text).toMatch(/posttrain_actors\{state="alive"\} [1-9]/);
    expect(text).toMatch(/posttrain_actor_call_seconds_count\{role="metered",method="add"\} 1/);
    expect(text).toMatch(/posttrain_object_store_bytes\{state="used"\} \d+/);
    expect(text).toMatch(/posttrain_object_store_bytes\{state="spilled"\} 0/);
    expect(text).toMatch(/posttrain_placement_groups_pending 0/);
    await actor.kill();
  });
});
