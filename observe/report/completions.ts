import { formatNumber } from '../charts/scale.ts';
import { escapeHtml } from '../charts/svg.ts';
import type { EvalSample, MetricsRecord, RunSummary } from '../formats.ts';
import { table } from './page.ts';

/**
 * What the policy says, not only how it scores: each evaluation's sample completions (prompt, completion, gold
 * reward) from `evalSamples` on the metrics lines and `finalEvalSamples` in the summary, newest first, the newest
 * open. Empty when the run logged none (older runs, SFT and reward-model stages).
 *
 * @example
 * const html = completionsHtml(run.metrics, run.summary); // '<details open><summary>final evaluation ...'
 */
export function completionsHtml(records: MetricsRecord[], summary: RunSummary | undefined): string {
  const evaluations: { label: string; samples: EvalSample[] }[] = [];
  for (const record of records) {
    if (isSampleList(record.evalSamples)) evaluations.push({ label: `step ${record.step}`, samples: record.evalSamples });
  }
  if (isSampleList(summary?.finalEvalSamples)) evaluations.push({ label: 'final evaluation', samples: summary.finalEvalSamples });
  return evaluations
    .reverse()
    .map(({ label, samples }, index) => {
      const mean = samples.reduce((sum, sample) => sum + sample.goldReward, 0) / Math.max(samples.length, 1);
      const rows = samples.map((sample) => ({
        cells: [sample.prompt, { html: `<span class="completion">${escapeHtml(sample.completion) || '<em>(empty)</em>'}</span>` }, formatNumber(sample.goldReward)],
      }));
      const heading = `${escapeHtml(label)}: ${samples.length} samples, mean gold reward ${escapeHtml(formatNumber(mean))}`;
      return `<details${index === 0 ? ' open' : ''} class="samples"><summary>${heading}</summary>${table(['prompt', 'completion', 'gold reward'], rows, [0, 1])}</details>`;
    })
    .join('');
}

function isSampleList(value: unknown): value is EvalSample[] {
  return Array.isArray(value) && value.length > 0 && value.every((sample) => typeof (sample as EvalSample)?.completion === 'string');
}
