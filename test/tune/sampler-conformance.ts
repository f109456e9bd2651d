import { expect, it } from 'vitest';
import { contains, toInternal } from '../../tune/distributions.ts';
import { createStudy, type Sampler, type Study } from '../../tune/index.ts';

/** Suggests one parameter of each kind; returns what was suggested. */
function suggestAll(study: Study): Record<string, unknown> {
  const trial = study.ask();
  const params = {
    lr: trial.suggestFloat('lr', 1e-5, 1e-1, { log: true }),
    clip: trial.suggestFloat('clip', 0.1, 0.3, { step: 0.05 }),
    x: trial.suggestFloat('x', -3, 3),
    layers: trial.suggestInt('layers', 1, 8),
    batch: trial.suggestInt('batch', 16, 128, { step: 16 }),
    width: trial.suggestInt('width', 8, 512, { log: true }),
    optimizer: trial.suggestCategorical('optimizer', ['adam', 'sgd', null, 3]),
  };
  trial.report(Number(params.x) ** 2, 0);
  study.tell(trial, Number(params.x) ** 2 + Math.log10(Number(params.lr)) ** 2 / 10);
  return params;
}

/**
 * The contract every sampler keeps (hono-style shared suite): values lie in their distributions, with the right
 * type; a seed reproduces the sequence exactly; enqueued parameters win over the sampler; one-value distributions
 * need no sampling.
 */
export function samplerConformance(makeSampler: (seed: number) => Sampler, options: { trials?: number } = {}): void {
  const trials = options.trials ?? 25;

  it('suggests values inside every distribution, with the right types', () => {
    const study = createStudy({ sampler: makeSampler(1) });
    for (let i = 0; i < trials; i++) suggestAll(study);
    for (const trial of study.trials) {
      for (const [name, distribution] of Object.entries(trial.distributions)) {
        const value = trial.params[name]!;
        expect(contains(distribution, toInternal(distribution, value)), `${name}=${String(value)}`).toBe(true);
        if (distribution.kind === 'int') expect(Number.isInteger(value)).toBe(true);
      }
    }
  });

  it('is reproducible: the same seed gives the same parameters', () => {
    const run = (seed: number): unknown[] => {
      const study = createStudy({ sampler: makeSampler(seed) });
      return Array.from({ length: trials }, () => suggestAll(study));
    };
    expect(run(7)).toEqual(run(7));
  });

  it('yields to enqueued parameters and to single-valued distributions', () => {
    const study = createStudy({ sampler: makeSampler(3) });
    study.enqueueTrial({ lr: 0.001, optimizer: null });
    const trial = study.ask();
    expect(trial.suggestFloat('lr', 1e-5, 1e-1, { log: true })).toBe(0.001);
    expect(trial.suggestCategorical('optimizer', ['adam', 'sgd', null, 3])).toBe(null);
    expect(trial.suggestInt('fixed', 4, 4)).toBe(4);
    expect(trial.suggestCategorical('only', ['one'])).toBe('one');
  });
}
