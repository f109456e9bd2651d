import { randomInt } from 'node:crypto';
import { Rng } from '../../models/rng.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { type CategoricalChoice, choicesEqual, contains, type Distribution, type ParamValue, toInternal } from '../distributions.ts';
import { rootLogger } from '../../runtime/logging.ts';
import type { StudyView } from '../study-view.ts';
import { type FrozenTrial, isFinished } from '../types.ts';
import type { Sampler } from './sampler.ts';

/**
 * Tries every combination of the given values once, in a seeded random order (Optuna's `GridSampler`). Each trial
 * records its grid point as the system attributes `search_space` and `grid_id`, so concurrent processes and a
 * resumed sweep skip points that are done or running; once the grid is covered, the study is asked to stop.
 *
 * @example
 * new GridSampler({ lr: [1e-4, 3e-4, 1e-3], batch: [16, 32] }, { seed: 0 }); // 6 trials
 */
export class GridSampler implements Sampler {
  private readonly searchSpace: Record<string, CategoricalChoice[]>;
  private readonly paramNames: string[];
  private readonly grids: CategoricalChoice[][];
  private readonly rng: Rng;

  constructor(searchSpace: Record<string, readonly CategoricalChoice[]>, options: { seed?: number } = {}) {
    this.paramNames = Object.keys(searchSpace).sort();
    for (const name of this.paramNames) {
      if (searchSpace[name]!.length === 0) throw new ConfigError([{ path: `sampler.searchSpace.${name}`, message: 'needs at least one value' }]);
    }
    this.searchSpace = Object.fromEntries(this.paramNames.map((name) => [name, [...searchSpace[name]!]]));
    this.grids = this.paramNames.reduce<CategoricalChoice[][]>(
      (grids, name) => grids.flatMap((grid) => this.searchSpace[name]!.map((value) => [...grid, value])),
      [[]],
    );
    this.rng = new Rng(options.seed ?? randomInt(2 ** 31));
  }

  /** Number of grid points. */
  get size(): number {
    return this.grids.length;
  }

  beforeTrial(study: StudyView, trial: FrozenTrial): void {
    if ('grid_id' in trial.systemAttrs || 'fixed_params' in trial.systemAttrs) return;
    let targets = this.unvisitedGridIds(study);
    if (targets.length === 0) {
      rootLogger().warn({ trial: trial.number }, 'GridSampler is re-evaluating a configuration because the grid has been exhausted');
      targets = this.grids.map((_, id) => id);
    }
    const gridId = targets[this.rng.int(targets.length)]!;
    study.setTrialSystemAttr(trial.trialId, 'search_space', this.searchSpace);
    study.setTrialSystemAttr(trial.trialId, 'grid_id', gridId);
  }

  sampleIndependent(_study: StudyView, trial: FrozenTrial, name: string, distribution: Distribution): ParamValue {
    const gridId = trial.systemAttrs.grid_id;
    if (typeof gridId !== 'number') throw new ConfigError([{ path: `params.${name}`, message: 'all parameters must be given when using GridSampler with enqueueTrial' }]);
    const index = this.paramNames.indexOf(name);
    if (index < 0) throw new ConfigError([{ path: `params.${name}`, message: `parameter '${name}' is not in the grid (${this.paramNames.join(', ')})` }]);
    const value = this.grids[gridId]![index]!;
    if (!contains(distribution, toInternal(distribution, value))) {
      rootLogger().warn({ param: name, value }, 'grid value is out of range of the suggested distribution; using it anyway');
    }
    return value;
  }

  afterTrial(study: StudyView, trial: FrozenTrial): void {
    const targets = this.unvisitedGridIds(study);
    if (targets.length === 0 || (targets.length === 1 && targets[0] === trial.systemAttrs.grid_id)) study.stop();
  }

  /** Grid points no finished trial has covered; also excluding running ones unless that leaves none. */
  private unvisitedGridIds(study: StudyView): number[] {
    const visited = new Set<number>();
    const running = new Set<number>();
    for (const trial of study.getTrials()) {
      const gridId = trial.systemAttrs.grid_id;
      if (typeof gridId !== 'number' || !this.sameSearchSpace(trial.systemAttrs.search_space)) continue;
      if (isFinished(trial.state)) visited.add(gridId);
      else if (trial.state === 'RUNNING') running.add(gridId);
    }
    const all = this.grids.map((_, id) => id);
    const free = all.filter((id) => !visited.has(id) && !running.has(id));
    return free.length > 0 ? free : all.filter((id) => !visited.has(id));
  }

  private sameSearchSpace(stored: unknown): boolean {
    if (typeof stored !== 'object' || stored === null) return false;
    const space = stored as Record<string, CategoricalChoice[]>;
    const names = Object.keys(space).sort();
    if (names.join('\u0000') !== this.paramNames.join('\u0000')) return false;
    return names.every((name) => space[name]!.length === this.searchSpace[name]!.length && space[name]!.every((value, i) => choicesEqual(value, this.searchSpace[name]![i]!)));
  }
}
