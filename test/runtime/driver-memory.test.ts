import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime, type ActorHandle } from '../../runtime/index.ts';
import type { Counter } from './fixtures/test-actors.ts';
import { eventually, fixtures } from './helpers.ts';

// The production lesson: a driver that owned every ObjectRef grew until it was OOM-killed 18 hours into PPO.
// Here the driver passes refs, actors own what they produce, and the driver's memory must not grow with steps.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

let runtime: Runtime;
let actor: ActorHandle<Counter>;

beforeAll(async () => {
  runtime = await Runtime.start({ nodes: [{ resources: { CPU: 2 } }] });
  actor = await runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter', resources: { CPU: 1 } });
});
afterAll(async () => {
  await runtime.shutdown();
});

async function cycles(count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const input = await runtime.put(new Float32Array(1024).fill(index % 7));
    const total = await actor.call('sum', input);
    if (total !== 1024 * (index % 7)) throw new Error(`wrong sum ${total} at cycle ${index}`);
    const produced = await actor.call('makeArray', 256, 1);
    const values = await runtime.get(produced);
    if (values.length !== 256) throw new Error('wrong length');
    input.release();
    produced.release();
  }
}

function residentMegabytes(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().rss / 2 ** 20;
}

describe('driver memory', () => {
  it('stays flat over 10,000 put/get/call cycles, and every object is freed', async () => {
    await cycles(1_000);
    const warm = residentMegabytes();
    await cycles(9_000);
    const after = residentMegabytes();
    const usage = await eventually(() => runtime.objectStoreUsage(), (now) => now.objects === 0);
    expect(usage.objects).toBe(0);
    expect(usage.usedBytes).toBe(0);
    // 9,000 cycles moved ~45 MB through the store; a per-cycle leak of even 2 KB would show as 18 MB here.
    expect(after - warm).toBeLessThan(12);
  });
});
