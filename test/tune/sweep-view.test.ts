import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { capturingLogger } from '../runtime/helpers.ts';
import type { SweepProgress } from '../../tune/index.ts';
import { createSweepView } from '../../tune/sweep-view.ts';

const progress = (kind: SweepProgress['event']['kind'], trialNumber: number): SweepProgress => ({
  running: 4,
  complete: 3,
  pruned: 1,
  failed: 0,
  total: 16,
  best: { number: 2, value: 0.75, params: { 'stages.ppo.algo.klCoef': 0.1 } },
  event: { kind, trialNumber },
});

describe('the sweep progress view', () => {
  it('draws the sweep bar with its counts and best, and removes a trial bar when its trial ends', async () => {
    let screen = '';
    const stream = Object.assign(new Writable({ write: (chunk: Buffer, _encoding, done) => ((screen += chunk.toString()), done()) }), { isTTY: true, columns: 200 });
    const view = createSweepView({ total: 16, logger: capturingLogger().logger, enabled: true, stream });
    const bar = view.trialBar(5, 10);
    bar.tick(3, { goldReward: 0.5 });
    view.onProgress(progress('pruned', 1));
    // cli-progress redraws on its own timer: wait for the frame that shows the update, not for a guessed time.
    await vi.waitFor(() => {
      expect(screen).toMatch(/sweep +\|.*\| 4\/16 .*running 4 {2}complete 3 {2}pruned 1 {2}failed 0 {2}best #2 0\.75/);
      expect(screen).toMatch(/trial 5 +\|.*\| 3\/10 .*goldReward 0\.5/);
    }, { timeout: 10_000, interval: 20 });
    bar.done();
    screen = '';
    view.onProgress({ ...progress('complete', 5), complete: 4 });
    await vi.waitFor(() => expect(screen).toMatch(/sweep +\|.*\| 5\/16 .*complete 4/), { timeout: 10_000, interval: 20 });
    view.close();
    // The frame drawn after the trial ended has no bar for it.
    expect(screen).not.toMatch(/trial 5/);
  });

  it('logs one line per finished trial where there is no terminal, and nothing per step', () => {
    const { logger, lines } = capturingLogger();
    const view = createSweepView({ total: 16, logger, enabled: false });
    view.trialBar(5, 10).tick(1, { goldReward: 0.5 });
    view.onProgress(progress('started', 6));
    view.onProgress(progress('pruned', 1));
    view.close();
    expect(lines.map((line) => line.msg)).toEqual([expect.stringMatching(/^sweep: trial 1 pruned \| trials 4\/16 \| running 4 \| complete 3 \| pruned 1 \| failed 0 \| best #2 0\.75 \(stages\.ppo\.algo\.klCoef=0\.1\)$/)]);
  });
});
