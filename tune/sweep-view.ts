import { createProgress, type Logger, type Progress, type ProgressBar } from '../runtime/index.ts';
import { formatSweepProgress } from './sweep-progress.ts';
import type { SweepProgress } from './sweep-runner.ts';

/** What the launcher shows while a sweep runs. */
export interface SweepView {
  /** Feed it `runSweep`'s progress events. */
  onProgress(progress: SweepProgress): void;
  /** A bar for one running trial's steps. */
  trialBar(trialNumber: number, steps: number): ProgressBar;
  close(): void;
}

const FINISHED = new Set<SweepProgress['event']['kind']>(['complete', 'pruned', 'failed', 'lost', 'stopped']);

/**
 * On a terminal: a `sweep` bar (trials finished of the target, with running / complete / pruned / failed and the
 * best so far) above one bar per running trial. Elsewhere (CI, a log file): one log line per finished trial with
 * the same figures, and nothing per step.
 *
 * @example
 * const view = createSweepView({ total: 16, logger });
 * await runSweep({ ..., onProgress: view.onProgress });
 * view.close();
 */
export function createSweepView(options: { total: number; logger: Logger; progress?: Progress }): SweepView {
  const progress = options.progress ?? createProgress();
  const sweepBar = progress.enabled ? progress.stage('sweep', options.total) : undefined;
  let shown = 0;
  return {
    onProgress(event) {
      const done = event.complete + event.pruned + event.failed;
      if (sweepBar) {
        if (done > shown) sweepBar.tick(done - shown, fields(event));
        else sweepBar.tick(0, fields(event));
        shown = Math.max(shown, done);
      } else if (FINISHED.has(event.event.kind)) {
        options.logger.info({ trial: event.event.trialNumber, event: event.event.kind }, `sweep: trial ${event.event.trialNumber} ${event.event.kind} | ${formatSweepProgress(event)}`);
      }
    },
    trialBar(trialNumber, steps) {
      return progress.stage(`trial ${trialNumber}`, steps);
    },
    close() {
      sweepBar?.done();
      progress.stop();
    },
  };
}

function fields(event: SweepProgress): Record<string, number | string> {
  const best = event.best ? `#${event.best.number} ${Number(event.best.value.toPrecision(4))}` : '-';
  return { running: event.running, complete: event.complete, pruned: event.pruned, failed: event.failed, best };
}
