import type { SweepProgress } from './sweep-runner.ts';

/**
 * One status line for a terminal progress view of a sweep.
 *
 * @example
 * runSweep({ ..., onProgress: (progress) => process.stderr.write(`\r${formatSweepProgress(progress)}`) });
 * // 'trials 7/16 | running 4 | complete 5 | pruned 2 | failed 0 | best #3 0.8123 (lr=3.2e-5, width=64)'
 */
export function formatSweepProgress(progress: SweepProgress): string {
  const done = progress.complete + progress.pruned + progress.failed;
  const parts = [
    `trials ${done}/${progress.total}`,
    `running ${progress.running}`,
    `complete ${progress.complete}`,
    `pruned ${progress.pruned}`,
    `failed ${progress.failed}`,
  ];
  if (progress.best) {
    const params = Object.entries(progress.best.params)
      .map(([name, value]) => `${name}=${typeof value === 'number' ? Number(value.toPrecision(4)) : String(value)}`)
      .join(', ');
    parts.push(`best #${progress.best.number} ${Number(progress.best.value.toPrecision(6))} (${params})`);
  } else parts.push('best -');
  return parts.join(' | ');
}
