/**
 * The stages every trial of a sweep starts from (SFT, the reward model), trained once before the trials.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger, Runtime } from '../runtime/index.ts';
import type { RunSummary } from '../observe/index.ts';
import { type PlannedStage, runRecipe } from '../trainers/recipe.ts';
import type { SweepPlan } from './sweep-plan.ts';

/**
 * Trains the shared stages (or reuses them: `runRecipe` skips a stage whose model exists for the same config). A
 * stage that a Ctrl-C stopped early wrote a model too short to share, so it is trained again (resuming from its
 * checkpoint when it has one). Nothing starts once `signal` has fired.
 */
export async function runSharedStages(plan: SweepPlan, runtime: Runtime, logger: Logger, signal: AbortSignal | undefined): Promise<Record<string, RunSummary>> {
  const summaries: Record<string, RunSummary> = {};
  for (const stage of plan.sharedStages) {
    if (signal?.aborted) break;
    const stoppedBy = stoppedEarly(stage);
    if (stoppedBy) logger.warn({ stage: stage.stage, stoppedBy }, `training the ${stage.stage} stage again: its last run was stopped early (${stoppedBy})`);
    const result = await runRecipe({ ...plan.recipe, stages: [stage] }, { runtime, ...(stoppedBy ? { force: true } : {}) });
    summaries[stage.stage] = (result.stages as Record<string, RunSummary>)[stage.stage]!;
  }
  return summaries;
}

/**
 * Why a finished stage run stopped before its steps were done, if it did: its summary's `stoppedBy`, or a last
 * metrics step short of the planned steps (not every trainer's summary says it was stopped).
 */
export function stoppedEarly(stage: PlannedStage): string | undefined {
  const summaryFile = join(stage.directory, 'summary.json');
  const metricsFile = join(stage.directory, 'metrics.jsonl');
  if (!existsSync(summaryFile)) return undefined;
  try {
    const stoppedBy = (JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary).stoppedBy;
    if (typeof stoppedBy === 'string') return stoppedBy;
    const planned = (stage.config.trainer as { steps?: number } | undefined)?.steps;
    if (planned === undefined || !existsSync(metricsFile)) return undefined;
    const last = readFileSync(metricsFile, 'utf8').trim().split('\n').at(-1);
    const step = last ? (JSON.parse(last) as { step?: number }).step : undefined;
    return step !== undefined && step < planned ? `stopped at step ${step} of ${planned}` : undefined;
  } catch {
    return undefined;
  }
}
