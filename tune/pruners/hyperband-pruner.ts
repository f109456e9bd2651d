import { crc32 } from 'node:zlib';
import { ConfigError } from '../../runtime/errors.ts';
import { filteredView, type StudyView } from '../study-view.ts';
import type { FrozenTrial } from '../types.ts';
import type { Pruner } from './pruner.ts';
import { SuccessiveHalvingPruner } from './successive-halving-pruner.ts';

export interface HyperbandPrunerOptions {
  /** Steps of the smallest rung. Default 1. */
  minResource?: number;
  /** Steps of a full run; 'auto' = last step + 1 of the first completed trial. Default 'auto'. */
  maxResource?: number | 'auto';
  /** Default 3. */
  reductionFactor?: number;
  bootstrapCount?: number;
}

/**
 * Hyperband (Li et al. 2018, "Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization", Alg. 1)
 * as Optuna runs it: floor(log_eta(max/min)) + 1 successive-halving brackets with early-stopping rates 0, 1, ...;
 * a trial's bracket is crc32("<study>_<number>") modulo the total trial budget, split by each bracket's budget
 * ceil(nBrackets * eta^s / (s + 1)). Each bracket only competes (and TPE only learns) within itself.
 *
 * @example
 * createStudy({ pruner: new HyperbandPruner({ minResource: 1, maxResource: 81, reductionFactor: 3 }) });
 */
export class HyperbandPruner implements Pruner {
  readonly minResource: number;
  private maxResource: number | 'auto';
  readonly reductionFactor: number;
  readonly bootstrapCount: number;
  private readonly pruners: SuccessiveHalvingPruner[] = [];
  private readonly budgets: number[] = [];
  private totalBudget = 0;

  constructor(options: HyperbandPrunerOptions = {}) {
    this.minResource = options.minResource ?? 1;
    this.maxResource = options.maxResource ?? 'auto';
    this.reductionFactor = options.reductionFactor ?? 3;
    this.bootstrapCount = options.bootstrapCount ?? 0;
    const problems: { path: string; message: string }[] = [];
    if (this.maxResource !== 'auto' && !(Number.isInteger(this.maxResource) && this.maxResource >= this.minResource)) {
      problems.push({ path: 'pruner.maxResource', message: `must be an integer >= minResource (${this.minResource}) or 'auto'; got ${this.maxResource}` });
    }
    if (this.bootstrapCount > 0 && this.maxResource === 'auto') problems.push({ path: 'pruner.bootstrapCount', message: "needs a fixed maxResource, not 'auto'" });
    if (problems.length > 0) throw new ConfigError(problems);
  }

  /** Number of brackets (0 until maxResource is known). */
  get nBrackets(): number {
    return this.pruners.length;
  }

  prune(study: StudyView, trial: FrozenTrial): boolean {
    if (this.pruners.length === 0) {
      this.initialize(study);
      if (this.pruners.length === 0) return false;
    }
    const bracket = this.bracketOf(study.studyName, trial.number);
    return this.pruners[bracket]!.prune(this.bracketView(study, bracket), trial);
  }

  studyFor(study: StudyView, trial: FrozenTrial): StudyView {
    if (this.pruners.length === 0) return study;
    return this.bracketView(study, this.bracketOf(study.studyName, trial.number));
  }

  /** The bracket a trial belongs to (0 before the brackets exist). */
  bracketOf(studyName: string, trialNumber: number): number {
    if (this.pruners.length === 0) return 0;
    let n = crc32(Buffer.from(`${studyName}_${trialNumber}`)) % this.totalBudget;
    for (let bracket = 0; bracket < this.budgets.length; bracket++) {
      n -= this.budgets[bracket]!;
      if (n < 0) return bracket;
    }
    throw new Error('unreachable: bracket budgets cover the total');
  }

  private bracketView(study: StudyView, bracket: number): StudyView {
    return filteredView(study, (other) => this.bracketOf(study.studyName, other.number) === bracket);
  }

  private initialize(study: StudyView): void {
    if (this.maxResource === 'auto') {
      const lastSteps = study.getTrials(['COMPLETE']).flatMap((trial) => (trial.lastStep === undefined ? [] : [trial.lastStep]));
      if (lastSteps.length === 0) return;
      this.maxResource = Math.max(...lastSteps) + 1;
    }
    const nBrackets = Math.floor(Math.log(this.maxResource / this.minResource) / Math.log(this.reductionFactor)) + 1;
    for (let bracket = 0; bracket < nBrackets; bracket++) {
      const s = nBrackets - 1 - bracket;
      const budget = Math.ceil((nBrackets * this.reductionFactor ** s) / (s + 1));
      this.budgets.push(budget);
      this.totalBudget += budget;
      this.pruners.push(
        new SuccessiveHalvingPruner({
          minResource: this.minResource,
          reductionFactor: this.reductionFactor,
          minEarlyStoppingRate: bracket,
          bootstrapCount: this.bootstrapCount,
        }),
      );
    }
  }
}
