import cliProgress from 'cli-progress';
import { createProgress, type Logger, type ProgressBar } from '../runtime/index.ts';
import { formatFields } from '../runtime/observability/progress.ts';
import { formatSweepProgress } from './sweep-progress.ts';
import type { SweepProgress } from './sweep-runner.ts';

/** What the launcher shows while a sweep runs. */
export interface SweepView {
  /** Feed it `runSweep`'s progress events. */
  onProgress(progress: SweepProgress): void;
  /** A bar for one running trial's steps; it leaves the screen when the trial ends. */
  trialBar(trialNumber: number, steps: number): ProgressBar;
  close(): void;
}

const FINISHED = new Set<SweepProgress['event']['kind']>(['complete', 'pruned', 'failed', 'lost', 'stopped']);
const QUIET_BAR: ProgressBar = { tick: () => {}, done: () => {} };

/**
 * On a terminal: a `sweep` bar (trials finished of the target, with running / complete / pruned / failed and the
 * best so far) above one bar per running trial, which is removed when its trial ends so a long sweep keeps a
 * short screen. Elsewhere (CI, a log file): one log line per finished trial with the same figures, nothing per step.
 *
 * @example
 * const view = createSweepView({ total: 16, logger });
 * await runSweep({ ..., onProgress: view.onProgress });
 * view.close();
 */
export function createSweepView(options: { total: number; logger: Logger; enabled?: boolean; stream?: NodeJS.WritableStream }): SweepView {
  // The same rule as every progress bar in posttrain: a terminal, and not CI.
  const enabled = options.enabled ?? createProgress().enabled;
  if (!enabled) {
    return {
      onProgress(event) {
        if (!FINISHED.has(event.event.kind)) return;
        options.logger.info({ trial: event.event.trialNumber, event: event.event.kind }, `sweep: trial ${event.event.trialNumber} ${event.event.kind} | ${formatSweepProgress(event)}`);
      },
      trialBar: () => QUIET_BAR,
      close: () => {},
    };
  }
  const bars = new cliProgress.MultiBar(
    {
      stream: options.stream ?? process.stderr,
      format: '{name} |{bar}| {value}/{total} | {duration_formatted} {fields}',
      barsize: 24,
      hideCursor: true,
      autopadding: true,
      // Log lines written between frames would otherwise leave stale bars behind.
      forceRedraw: true,
      noTTYOutput: options.enabled === true,
    },
    cliProgress.Presets.shades_classic,
  );
  const sweepBar = bars.create(options.total, 0, { name: 'sweep'.padEnd(10), fields: '' });
  return {
    onProgress(event) {
      sweepBar.update(event.complete + event.pruned + event.failed, { fields: `| ${formatFields(fields(event))}` });
    },
    trialBar(trialNumber, steps) {
      const bar = bars.create(steps, 0, { name: `trial ${trialNumber}`.padEnd(10), fields: '' });
      let finished = false;
      return {
        tick(count = 1, values) {
          if (!finished) bar.increment(count, values === undefined ? {} : { fields: `| ${formatFields(values)}` });
        },
        done() {
          if (finished) return;
          finished = true;
          bars.remove(bar);
        },
      };
    },
    close() {
      bars.stop();
    },
  };
}

function fields(event: SweepProgress): Record<string, number | string> {
  const best = event.best ? `#${event.best.number} ${Number(event.best.value.toPrecision(4))}` : '-';
  return { running: event.running, complete: event.complete, pruned: event.pruned, failed: event.failed, best };
}
