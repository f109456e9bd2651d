import { describe, expect, it } from 'vitest';
import { createStudy, GridSampler, RandomSampler, type Sampler, TpeSampler, type Trial } from '../../tune/index.ts';
import { branin, hartmann6, shiftedSphere } from './benchmark-functions.ts';
import { samplerConformance } from './sampler-conformance.ts';

describe('RandomSampler conformance', () => samplerConformance((seed) => new RandomSampler({ seed })));
describe('TpeSampler conformance', () => samplerConformance((seed) => new TpeSampler({ seed }), { trials: 30 }));
describe('GridSampler conformance', () => {
  // The grid covers the suite's parameters, so the shared contract applies unchanged.
  const grid = {
    lr: [1e-4, 1e-3, 1e-2],
    clip: [0.1, 0.2, 0.3],
    x: [-1, 0, 2],
    layers: [1, 4],
    batch: [16, 64],
    width: [8, 256],
    optimizer: ['adam', null, 3],
  };
  samplerConformance((seed) => new GridSampler(grid, { seed }));
});

const objectives: { name: string; nTrials: number; objective: (trial: Trial) => number }[] = [
  { name: 'Branin', nTrials: 60, objective: (t) => branin(t.suggestFloat('x', -5, 10), t.suggestFloat('y', 0, 15)) },
  { name: 'Hartmann-6', nTrials: 80, objective: (t) => hartmann6(Array.from({ length: 6 }, (_, i) => t.suggestFloat(`x${i}`, 0, 1))) },
  { name: 'shifted sphere (4-d)', nTrials: 60, objective: (t) => shiftedSphere(Array.from({ length: 4 }, (_, i) => t.suggestFloat(`x${i}`, -5, 5))) },
];

async function bestValue(sampler: Sampler, nTrials: number, objective: (trial: Trial) => number): Promise<number> {
  const study = createStudy({ sampler });
  await study.optimize(objective, { nTrials });
  return study.bestValue;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
};

describe('TPE beats random search', () => {
  const seeds = [0, 1, 2, 3, 4, 5, 6];
  for (const { name, nTrials, objective } of objectives) {
    it(`on ${name}: median best value over ${seeds.length} seeds at ${nTrials} trials`, async () => {
      const tpe: number[] = [];
      const random: number[] = [];
      for (const seed of seeds) {
        tpe.push(await bestValue(new TpeSampler({ seed }), nTrials, objective));
        random.push(await bestValue(new RandomSampler({ seed }), nTrials, objective));
      }
      expect(median(tpe), `TPE ${tpe.map((v) => v.toFixed(3))} vs random ${random.map((v) => v.toFixed(3))}`).toBeLessThan(median(random));
    });
  }
});

describe('GridSampler', () => {
  it('visits every grid point exactly once, records grid_id like Optuna, and stops the study when done', async () => {
    const study = createStudy({ sampler: new GridSampler({ a: [1, 2, 3], b: ['x', 'y'] }, { seed: 0 }) });
    await study.optimize((trial) => trial.suggestInt('a', 1, 3) + (trial.suggestCategorical('b', ['x', 'y']) === 'x' ? 0 : 10), { nTrials: 20 });
    const trials = study.trials;
    expect(trials).toHaveLength(6);
    expect(new Set(trials.map((trial) => `${trial.params.a}${trial.params.b}`)).size).toBe(6);
    expect(trials[0]!.systemAttrs.search_space).toEqual({ a: [1, 2, 3], b: ['x', 'y'] });
    expect(new Set(trials.map((trial) => trial.systemAttrs.grid_id))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });
});

describe('TpeSampler', () => {
  it('counts PRUNED trials toward its 10 startup trials and then concentrates near the optimum', async () => {
    const study = createStudy({ sampler: new TpeSampler({ seed: 11 }) });
    for (let i = 0; i < 10; i++) {
      const trial = study.ask();
      const x = trial.suggestFloat('x', -10, 10);
      trial.report((x - 3) ** 2, 0);
      study.tell(trial, i % 2 === 0 ? 'PRUNED' : (x - 3) ** 2);
    }
    await study.optimize((trial) => (trial.suggestFloat('x', -10, 10) - 3) ** 2, { nTrials: 30 });
    const late = study.trials.slice(20).map((trial) => Math.abs(Number(trial.params.x) - 3));
    expect(median(late)).toBeLessThan(2.5); // uniform on [-10, 10] would give a median distance of 5
  });

  it('handles log ints, stepped floats and categoricals after startup', async () => {
    const study = createStudy({ sampler: new TpeSampler({ seed: 5 }), direction: 'maximize' });
    await study.optimize(
      (trial) => {
        const width = trial.suggestInt('width', 8, 1024, { log: true });
        const clip = trial.suggestFloat('clip', 0.1, 0.5, { step: 0.1 });
        const optimizer = trial.suggestCategorical('optimizer', ['sgd', 'adam', 'lion']);
        return -Math.abs(Math.log2(width) - 8) - Math.abs(clip - 0.2) + (optimizer === 'adam' ? 1 : 0);
      },
      { nTrials: 40 },
    );
    const late = study.trials.slice(25);
    expect(late.filter((trial) => trial.params.optimizer === 'adam').length).toBeGreaterThan(late.length / 3);
    expect(study.bestTrial.params.optimizer).toBe('adam');
  });
});
