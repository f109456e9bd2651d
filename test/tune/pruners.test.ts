import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../models/rng.ts';
import { createStudy, HyperbandPruner, MedianPruner, SuccessiveHalvingPruner } from '../../tune/index.ts';
import { describeWithOptuna, optuna } from '../interop/optuna.ts';
import { prunerConformance, runCurves } from './pruner-conformance.ts';

describe('MedianPruner conformance', () => prunerConformance(() => new MedianPruner()));
describe('SuccessiveHalvingPruner conformance', () => prunerConformance(() => new SuccessiveHalvingPruner({ minResource: 1 })));
describe('HyperbandPruner conformance', () => prunerConformance(() => new HyperbandPruner({ minResource: 1, maxResource: 27 })));

/** Five completed trials whose value at every step is 1, 2, 3, 4, 5: the median at each step is 3. */
const fiveDone = [1, 2, 3, 4, 5].map((value) => new Array<number>(10).fill(value));

describe('MedianPruner, hand-worked', () => {
  it('prunes at the first step where the best value so far is worse than the median of completed trials', () => {
    const outcomes = runCurves(createStudy({ pruner: new MedianPruner() }), [...fiveDone, [9, 8, 3.5, 2.5, 1, 1, 1, 1, 1, 1]]);
    expect(outcomes.slice(0, 5).every((outcome) => outcome.state === 'COMPLETE')).toBe(true);
    expect(outcomes[5]).toEqual({ prunedAt: 0, state: 'PRUNED', value: 9 });
  });

  it('waits for 5 startup trials, honours warm-up steps and checks once per interval', () => {
    expect(runCurves(createStudy({ pruner: new MedianPruner() }), [...fiveDone.slice(0, 4), [9, 9, 9]])[4]!.state).toBe('COMPLETE');
    const warm = runCurves(createStudy({ pruner: new MedianPruner({ nWarmupSteps: 3 }) }), [...fiveDone, [9, 9, 9, 9, 9]]);
    expect(warm[5]!.prunedAt).toBe(3);
    // Steps checked with warm-up 2 and interval 3: 2, 5, 8. A trial bad only from step 3 is caught at step 5.
    const interval = runCurves(createStudy({ pruner: new MedianPruner({ nWarmupSteps: 2, intervalSteps: 3 }) }), [...fiveDone, [9, 9, 9, 9, 9, 9, 9, 9]]);
    expect(interval[5]!.prunedAt).toBe(2);
    const lateBad = runCurves(createStudy({ pruner: new MedianPruner({ nWarmupSteps: 2, intervalSteps: 3 }) }), [...fiveDone, [9, 9, 0, 9, 9, 9, 9, 9]]);
    expect(lateBad[5]!.state).toBe('COMPLETE'); // its best-so-far (0) beats the median at every checked step
  });

  it('uses the best value so far, so a trial that was once good survives a bad patch (maximize flips it)', () => {
    const maximize = runCurves(createStudy({ direction: 'maximize', pruner: new MedianPruner() }), [...fiveDone, [4, 0, 0, 0]]);
    expect(maximize[5]!.state).toBe('COMPLETE');
    const loses = runCurves(createStudy({ direction: 'maximize', pruner: new MedianPruner() }), [...fiveDone, [2, 0, 0, 0]]);
    expect(loses[5]).toEqual({ prunedAt: 0, state: 'PRUNED', value: 2 });
  });
});

describe('SuccessiveHalvingPruner, hand-worked', () => {
  it('records completed_rung_N at steps minResource * 4^N and promotes only the top quarter', () => {
    // Rungs at steps 1, 4, 16. With one competitor a trial needs to be the best; with 4+ the top quarter.
    const study = createStudy({ pruner: new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 4 }) });
    const outcomes = runCurves(study, [
      [5, 5, 5, 5, 5, 5], // alone at rungs 0 and 1: promoted, completes
      [4, 6, 6, 6, 6, 6], // rung 0: 6 vs [5] -> not the best -> pruned at step 1
      [4, 4, 4, 4, 4, 4], // rung 0: 4 <= min -> promoted; rung 1 at step 4: 4 vs [5] -> promoted
      [9, 9, 9, 9, 9, 9], // rung 0: 9 vs [5, 6, 4] -> pruned
    ]);
    expect(outcomes.map((outcome) => outcome.prunedAt)).toEqual([null, 1, null, 1]);
    const rungs = study.trials.map((trial) => Object.fromEntries(Object.entries(trial.systemAttrs).filter(([key]) => key.startsWith('completed_rung_'))));
    expect(rungs).toEqual([
      { completed_rung_0: 5, completed_rung_1: 5 },
      { completed_rung_0: 6 },
      { completed_rung_0: 4, completed_rung_1: 4 },
      { completed_rung_0: 9 },
    ]);
  });
});

/** Noisy learning curves from a seed: some trials converge low, some high. */
function noisyCurves(seed: number, count: number, steps: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const floor = rng.uniform() * 2;
    const speed = 0.2 + rng.uniform();
    return Array.from({ length: steps }, (_, step) => Number((floor + 3 * Math.exp(-speed * step) + 0.1 * rng.normal()).toFixed(6)));
  });
}

describeWithOptuna('pruners decide exactly as Optuna does', () => {
  const scenarios = [
    { name: 'median', pruner: { kind: 'median' }, direction: 'minimize' },
    { name: 'median, warm-up 3, interval 2, maximize', pruner: { kind: 'median', nWarmupSteps: 3, intervalSteps: 2 }, direction: 'maximize' },
    { name: 'successive halving, auto min resource', pruner: { kind: 'successiveHalving' }, direction: 'minimize' },
    { name: 'successive halving, min resource 2, factor 3', pruner: { kind: 'successiveHalving', minResource: 2, reductionFactor: 3 }, direction: 'minimize' },
    { name: 'hyperband, max resource 27', pruner: { kind: 'hyperband', minResource: 1, maxResource: 27 }, direction: 'minimize' },
    { name: 'hyperband, auto max resource, maximize', pruner: { kind: 'hyperband' }, direction: 'maximize' },
  ] as const;
  const make = (spec: (typeof scenarios)[number]['pruner']) => {
    const { kind, ...options } = spec as { kind: string } & Record<string, number>;
    if (kind === 'median') return new MedianPruner(options);
    if (kind === 'successiveHalving') return new SuccessiveHalvingPruner(options);
    return new HyperbandPruner(options);
  };
  for (const [index, scenario] of scenarios.entries()) {
    it(scenario.name, () => {
      // Maximised studies see the negated loss, so they too have clearly better and worse trials.
      const curves = noisyCurves(100 + index, 30, 28).map((curve) => (scenario.direction === 'maximize' ? curve.map((value) => -value) : curve));
      const studyName = `scenario-${index}`;
      const file = join(mkdtempSync(join(tmpdir(), 'posttrain-prune-')), 'scenario.json');
      writeFileSync(file, JSON.stringify({ studyName, direction: scenario.direction, pruner: scenario.pruner, curves }));
      const theirs = optuna('prune', file).decisions as { prunedAt: number | null; state: string; value: number; rungs: Record<string, number> }[];
      const study = createStudy({ studyName, direction: scenario.direction, pruner: make(scenario.pruner) });
      const ours = runCurves(study, curves).map((outcome, i) => ({
        ...outcome,
        rungs: Object.fromEntries(Object.entries(study.trials[i]!.systemAttrs).filter(([key]) => key.startsWith('completed_rung_'))),
      }));
      expect(ours).toEqual(theirs);
      expect(ours.some((outcome) => outcome.state === 'PRUNED')).toBe(true);
    });
  }
});
