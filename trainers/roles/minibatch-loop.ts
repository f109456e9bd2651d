/**
 * The minibatch loop every experience-trained role runs (the policy's clipped updates, the value regression):
 * walk the plan's minibatches, take this rank's contiguous share of each, weight its gradient by its share of the
 * minibatch's action tokens (so data-parallel ranks together take the full minibatch's step), and average the
 * step's figures over minibatches.
 */
import type { ExperienceBatch } from '../../rollout/experience.ts';
import { selectExperienceRows } from '../../rollout/experience.ts';
import { minibatches, rankRows, type MinibatchPlan } from './minibatch-plan.ts';
import { yieldToEventLoop } from './model-role.ts';

/** One optimizer step's figures: the loss, the gradient norm and named metrics. */
export interface StepFigures {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
}

/**
 * Runs `step` on this rank's share of every minibatch of `plan`, in order; returns the mean over minibatches of
 * `loss`, `gradNorm` and every metric in `metricNames` (a metric a step did not report counts as 0).
 *
 * @example
 * const means = await overMinibatches(experience, plan, { rank: 0, worldSize: 2 }, ['clipFraction'], (minibatch, share) => this.trainStep(share, () => loss(minibatch)));
 */
export async function overMinibatches<Name extends string>(
  experience: ExperienceBatch,
  plan: MinibatchPlan,
  ranks: { rank: number; worldSize: number },
  metricNames: readonly Name[],
  step: (minibatch: ExperienceBatch, share: number) => Promise<StepFigures>,
): Promise<Record<Name | 'loss' | 'gradNorm', number>> {
  const totals: Record<string, number> = { loss: 0, gradNorm: 0 };
  for (const name of metricNames) totals[name] = 0;
  let count = 0;
  for (const rows of minibatches(plan)) {
    const mine = rankRows(rows, ranks.rank, ranks.worldSize);
    const share = tokensOf(experience, mine) / Math.max(tokensOf(experience, rows), 1);
    const figures = await step(selectExperienceRows(experience, Array.from(mine)), share);
    totals.loss! += figures.loss;
    totals.gradNorm! += figures.gradNorm;
    for (const name of metricNames) totals[name]! += figures.metrics[name] ?? 0;
    count += 1;
    await yieldToEventLoop();
  }
  return Object.fromEntries(Object.entries(totals).map(([name, total]) => [name, total / Math.max(count, 1)])) as Record<Name | 'loss' | 'gradNorm', number>;
}

/** Real action tokens in the given rows. */
export function tokensOf(experience: ExperienceBatch, rows: Int32Array): number {
  const width = experience.responseLength;
  let total = 0;
  for (const row of rows) for (let t = 0; t < width; t++) total += experience.actionMask[row * width + t]!;
  return total;
}
