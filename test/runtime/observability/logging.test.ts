import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { forwardRecord, redirectLogLines, rootLogger, withLiveContext } from '../../../runtime/logging.ts';
import { addRemoteMetrics, type MetricsSnapshot } from '../../../runtime/observability/index.ts';

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

/** Log lines of this process, as written (one JSON object per line). */
function capture(): string[] {
  const lines: string[] = [];
  restore = redirectLogLines((line) => lines.push(line));
  return lines;
}

describe('log lines', () => {
  it('carry the live context of an ancestor (the current step) on every descendant line; a line’s own field wins', () => {
    const lines = capture();
    let step = 0;
    const run = withLiveContext(rootLogger(), () => (step > 0 ? { step } : {}), { run: 'ppo-1' });
    run.level = 'info';
    const actor = run.child({ actor: 'policy-a1' });
    actor.info('before the loop');
    step = 3;
    actor.info('in step 3');
    run.info({ step: 2 }, 'about step 2');
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { run: 'ppo-1', actor: 'policy-a1', msg: 'before the loop' },
      { run: 'ppo-1', actor: 'policy-a1', step: 3, msg: 'in step 3' },
      { run: 'ppo-1', step: 2, msg: 'about step 2' },
    ]);
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('step');
    for (const line of lines) expect(line.match(/"step"/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it('re-emit a worker’s record once per key: fields the capturing logger binds are not repeated', () => {
    const lines = capture();
    const actorLogger = rootLogger().child({ run: 'ppo-1', component: 'runtime', actor: 'policy-a1', role: 'policy', node: 'node-0' }, { level: 'info' });
    const workerLine = { level: 40, time: 1, pid: 7, hostname: 'h', actor: 'policy-a1', role: 'policy', node: 'node-0', component: 'engine', blockedMs: 2500, msg: 'held the event loop' };
    expect(forwardRecord(actorLogger, workerLine)).toBe(true);
    expect(forwardRecord(actorLogger, { note: 'not a pino record' })).toBe(false);
    expect(lines).toHaveLength(1);
    const raw = lines[0]!.trimEnd();
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    expect(JSON.stringify(parsed).length).toBe(raw.length); // no key twice
    expect(parsed).toMatchObject({ level: 40, run: 'ppo-1', actor: 'policy-a1', role: 'policy', node: 'node-0', component: 'runtime', workerComponent: 'engine', blockedMs: 2500 });
  });
});

describe('remote metrics', () => {
  const descriptor = { name: 'test_collective_seconds', help: 'help', type: 'counter' as const };
  const snapshot = (value: number): MetricsSnapshot =>
    [{ name: descriptor.name, help: 'help', type: 'counter', aggregator: 'sum', values: [{ value, labels: { op: 'allreduce' } }] }] as unknown as MetricsSnapshot;

  it('serve other processes’ series on this registry, labelled per source, the last values of a source that does not answer', async () => {
    const registry = new Registry();
    let calls = 0;
    const detach = addRemoteMetrics(registry, [descriptor], [
      { labels: { rank: '0' }, fetch: async () => snapshot(3) },
      { labels: { rank: '1' }, fetch: async () => (++calls === 1 ? snapshot(5) : Promise.reject(new Error('busy'))) },
    ]);
    const first = await registry.metrics();
    expect(first).toContain('test_collective_seconds{op="allreduce",rank="0"} 3');
    expect(first).toContain('test_collective_seconds{op="allreduce",rank="1"} 5');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await registry.metrics()).toContain('test_collective_seconds{op="allreduce",rank="1"} 5');
    detach();
    expect(await registry.metrics()).not.toContain('rank=');
  });
});
