import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redirectLogLines, rootLogger } from '../../../runtime/logging.ts';
import { createProgress } from '../../../runtime/observability/index.ts';

/** A stream that says it is a terminal and records what is written to it. */
function fakeTerminal(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  }) as Writable & { isTTY: boolean; columns: number; text: () => string };
  stream.isTTY = isTTY;
  stream.columns = 120;
  stream.text = () => chunks.join('');
  return stream;
}

/** Progress bars drawn on a fake stream, with the CI variable set as given ('' outside CI). */
function progressOn(isTTY: boolean, options: { ci?: string; captureLogs?: boolean } = {}) {
  vi.stubEnv('CI', options.ci ?? '');
  const terminal = fakeTerminal(isTTY);
  return { terminal, progress: createProgress({ stream: terminal, captureLogs: options.captureLogs }) };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('progress bars', () => {
  it('draw stages with counts and fields on a terminal', () => {
    const { terminal, progress } = progressOn(true);
    expect(progress.enabled).toBe(true);
    const bar = progress.stage('ppo', 10);
    bar.tick(3, { reward: 0.5123, kl: 0.0125 });
    bar.done();
    const text = terminal.text();
    expect(text).toContain('ppo');
    expect(text).toContain('10/10');
    expect(text).toContain('reward 0.5123  kl 0.0125');
  });

  it('stay quiet in CI even on a terminal', () => {
    const { terminal, progress } = progressOn(true, { ci: 'true' });
    expect(progress.enabled).toBe(false);
    const bar = progress.stage('ppo', 10);
    bar.tick(5);
    bar.done();
    progress.log('a line');
    expect(terminal.text()).toBe('');
  });

  it('stay quiet when output is not a terminal', () => {
    const { terminal: file, progress } = progressOn(false);
    expect(progress.enabled).toBe(false);
    progress.stage('sweep trials', 16).tick();
    expect(file.text()).toBe('');
  });

  it('show several bars at once (concurrent sweep trials)', () => {
    const { terminal, progress } = progressOn(true);
    const first = progress.stage('trial 0', 4);
    const second = progress.stage('trial 1', 4);
    first.tick(2);
    second.tick(1);
    first.done();
    second.done();
    expect(terminal.text()).toContain('trial 0');
    expect(terminal.text()).toContain('trial 1');
  });

  it('print log lines above the bars while they are drawn, whole, and give the log back when they stop', () => {
    vi.stubEnv('CI', '');
    const elsewhere: string[] = [];
    const restore = redirectLogLines((line) => elsewhere.push(line));
    const terminal = fakeTerminal(true);
    const progress = createProgress({ stream: terminal, captureLogs: true });
    const logger = rootLogger().child({ run: 'ppo-1' }, { level: 'info' });
    try {
      const bar = progress.stage('ppo', 10);
      bar.tick(4);
      logger.info({ step: 5 }, 'checkpoint saved');
      const text = terminal.text();
      // The line reaches the bars' stream at once (not at the next redraw), unbroken, and the bar is redrawn below it.
      const line = text.split('\n').find((candidate) => candidate.includes('checkpoint saved'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!.slice(line!.indexOf('{')))).toMatchObject({ run: 'ppo-1', step: 5, msg: 'checkpoint saved' });
      expect(text.slice(text.indexOf('checkpoint saved'))).toContain('4/10');
      expect(elsewhere).toEqual([]);
      bar.done();
      const afterStop = terminal.text().length;
      logger.info('after the bars');
      expect(terminal.text().length).toBe(afterStop);
      expect(elsewhere.map((entry) => JSON.parse(entry).msg)).toEqual(['after the bars']);
    } finally {
      restore();
    }
  });
});
