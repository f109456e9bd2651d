import { expect, it } from 'vitest';
import { createStudy, type Pruner, type Study } from '../../tune/index.ts';

/** Runs each curve as a trial: report every step, stop at the first prune decision, else complete. */
export function runCurves(study: Study, curves: readonly (readonly number[])[]): { prunedAt: number | null; state: string; value: number | undefined }[] {
  return curves.map((curve) => {
    const trial = study.ask();
    let prunedAt: number | null = null;
    for (let step = 0; step < curve.length; step++) {
      trial.report(curve[step]!, step);
      if (trial.shouldPrune()) {
        prunedAt = step;
        break;
      }
    }
    const told = prunedAt === null ? study.tell(trial, curve[curve.length - 1]!) : study.tell(trial, 'PRUNED');
    return { prunedAt, state: told.state, value: told.value };
  });
}

/** Curves where trial i's loss is i-dependent and falls with steps, so some trials are clearly worse. */
export function spreadCurves(count: number, steps: number, offset = 0): number[][] {
  return Array.from({ length: count }, (_, i) => Array.from({ length: steps }, (_, step) => ((i * 7 + offset) % count) + 10 / (step + 1)));
}

/**
 * The contract every pruner keeps: no decision without a report, the first trial always runs to the end, the same
 * history gives the same decisions, and a pruned trial keeps its last reported value.
 */
export function prunerConformance(makePruner: () => Pruner): void {
  it('never prunes a trial that has reported nothing, nor the first trial', () => {
    const study = createStudy({ pruner: makePruner() });
    const trial = study.ask();
    expect(trial.shouldPrune()).toBe(false);
    expect(runCurves(study, spreadCurves(1, 20))[0]!.state).toBe('COMPLETE');
  });

  it('decides the same way on the same history', () => {
    const curves = spreadCurves(24, 30);
    const decide = (): unknown => runCurves(createStudy({ studyName: 'same-history', pruner: makePruner() }), curves);
    expect(decide()).toEqual(decide());
  });

  it('stops some clearly worse trials, and a pruned trial keeps its last reported value', () => {
    const curves = spreadCurves(24, 30);
    const outcomes = runCurves(createStudy({ studyName: 'prune-some', pruner: makePruner() }), curves);
    const pruned = outcomes.flatMap((outcome, i) => (outcome.state === 'PRUNED' ? [{ ...outcome, i }] : []));
    expect(pruned.length).toBeGreaterThan(0);
    for (const { prunedAt, value, i } of pruned) expect(value).toBe(curves[i]![prunedAt!]);
  });
}
