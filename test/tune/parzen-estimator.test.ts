import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Rng } from '../../models/rng.ts';
import { categoricalDistribution, contains, type Distribution, distributionToJson, floatDistribution, intDistribution } from '../../tune/distributions.ts';
import { createStudy, defaultGamma, RandomSampler, SqliteStorage } from '../../tune/index.ts';
import { ParzenEstimator } from '../../tune/samplers/tpe/parzen-estimator.ts';
import { observationPairs, splitObservations } from '../../tune/samplers/tpe/tpe-sampler.ts';
import { describeWithOptuna, optuna } from '../interop/optuna.ts';

const parameters = { considerPrior: true, priorWeight: 1, considerMagicClip: true, considerEndpoints: false };

const cases: { distribution: Distribution; observations: number[]; points: number[] }[] = [
  { distribution: floatDistribution(0, 10), observations: [1, 2, 5], points: [0, 3, 7, 10] },
  { distribution: floatDistribution(-3, 3), observations: [], points: [-1, 0.5] },
  { distribution: floatDistribution(1e-4, 1, { log: true }), observations: [1e-3, 0.01, 0.5, 0.2], points: [0.003, 0.3] },
  { distribution: floatDistribution(0, 1, { step: 0.25 }), observations: [0.25, 0.25, 1], points: [0, 0.5, 1] },
  { distribution: intDistribution(1, 9, { step: 2 }), observations: [1, 3, 3, 9], points: [3, 7] },
  { distribution: intDistribution(8, 1024, { log: true }), observations: [16, 512, 64], points: [8, 100, 1024] },
  { distribution: categoricalDistribution(['a', 'b', 'c']), observations: [0, 2, 2], points: [0, 1, 2] },
  // More than 25 observations: the ramp of default weights kicks in.
  { distribution: floatDistribution(-5, 5), observations: Array.from({ length: 30 }, (_, i) => Math.sin(i) * 4), points: [-4, 0, 2.5] },
];

describeWithOptuna("the Parzen estimator matches Optuna's", () => {
  it('component weights, means, bandwidths (with the magic clip) and log densities', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'posttrain-parzen-')), 'cases.json');
    writeFileSync(file, JSON.stringify(cases.map((c) => ({ ...c, distribution: distributionToJson(c.distribution) }))));
    const theirs = optuna('parzen', file).results as { weights: number[]; mus: number[] | null; sigmas: number[] | null; logPdf: number[] }[];
    cases.forEach((c, index) => {
      const ours = new ParzenEstimator(c.observations, c.distribution, parameters);
      const expected = theirs[index]!;
      const close = (actual: readonly number[], wanted: readonly number[]): void => {
        expect(actual).toHaveLength(wanted.length);
        actual.forEach((value, i) => expect(value, `case ${index}`).toBeCloseTo(wanted[i]!, 10));
      };
      close(ours.components().weights, expected.weights);
      if (expected.mus) {
        close(ours.components().mus, expected.mus);
        close(ours.components().sigmas, expected.sigmas!);
      }
      close(ours.logPdf(c.points), expected.logPdf);
    });
  });
});

it('samples lie on the distribution and follow the mixture', () => {
  const rng = new Rng(0);
  for (const c of cases) {
    const estimator = new ParzenEstimator(c.observations, c.distribution, parameters);
    for (const sample of estimator.sample(rng, 200)) expect(contains(c.distribution, sample)).toBe(true);
  }
  // Mass concentrates where the observations are: most samples land near 0.25 (two of three observations).
  const stepped = new ParzenEstimator([0.25, 0.25, 1], floatDistribution(0, 1, { step: 0.25 }), parameters).sample(rng, 2000);
  const share = (value: number): number => stepped.filter((sample) => sample === value).length / stepped.length;
  expect(share(0.25)).toBeGreaterThan(share(0.75));
});

describeWithOptuna("TPE's good/bad split matches Optuna's", () => {
  it('ranks COMPLETE trials by value and PRUNED ones by how far they got, then by their last value', () => {
    const url = `sqlite:///${join(mkdtempSync(join(tmpdir(), 'posttrain-split-')), 'split.db')}`;
    const study = createStudy({ storage: SqliteStorage.open(url, { schemaRevision: 'v3.0.0.d' }), studyName: 'split', direction: 'maximize', sampler: new RandomSampler({ seed: 0 }) });
    const rng = new Rng(8);
    for (let i = 0; i < 45; i++) {
      const trial = study.ask();
      const x = trial.suggestFloat('x', 0, 1);
      const steps = 1 + rng.int(6);
      for (let step = 0; step < steps; step++) trial.report(i % 9 === 0 ? NaN : x * (step + 1), step);
      if (i % 11 === 5) study.tell(trial, 'PRUNED');
      else if (i % 3 === 0 && i !== 0) study.tell(trial, 'PRUNED');
      else if (i % 13 === 7) study.tell(trial, 'FAIL');
      else study.tell(trial, x);
    }
    const pruneWithoutReports = study.ask();
    pruneWithoutReports.suggestFloat('x', 0, 1);
    study.tell(pruneWithoutReports, 'PRUNED');
    const observations = observationPairs(study.view, 'x');
    const ours = splitObservations(observations, defaultGamma(observations.length)).below.map((observation) => observation.number);
    expect(ours).toEqual(optuna('tpe-split', url, 'split', 'x').below);
  });
});
