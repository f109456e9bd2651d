import { randomInt } from 'node:crypto';
import { Rng } from '../../models/rng.ts';
import type { Distribution, ParamValue } from '../distributions.ts';
import type { StudyView } from '../study-view.ts';
import type { FrozenTrial } from '../types.ts';
import type { Sampler } from './sampler.ts';
import { sampleUniform } from './search-space-transform.ts';

/**
 * Independent uniform sampling (log-uniform for log distributions, uniform over grid points for stepped ones),
 * Optuna's `RandomSampler`. Seeded runs draw the same sequence.
 *
 * @example
 * const study = createStudy({ sampler: new RandomSampler({ seed: 1 }) });
 */
export class RandomSampler implements Sampler {
  private readonly rng: Rng;

  constructor(options: { seed?: number } = {}) {
    this.rng = new Rng(options.seed ?? randomInt(2 ** 31));
  }

  sampleIndependent(_study: StudyView, _trial: FrozenTrial, _name: string, distribution: Distribution): ParamValue {
    return sampleUniform(this.rng, distribution);
  }
}
