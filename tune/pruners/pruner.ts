import type { StudyView } from '../study-view.ts';
import type { FrozenTrial } from '../types.ts';

/**
 * A pruner decides, after each reported intermediate value, whether a running trial should stop (Optuna's
 * `BasePruner`). Every implementation runs `test/tune/pruner-conformance.ts`.
 *
 * @example
 * const pruner: Pruner = new MedianPruner({ nWarmupSteps: 5 });
 * if (pruner.prune(studyView, trial)) throw new TrialPruned();
 */
export interface Pruner {
  /** True when `trial` (with its latest intermediate values) should be stopped now. */
  prune(study: StudyView, trial: FrozenTrial): boolean;
  /**
   * The part of the study that samplers should learn from for `trial` (Hyperband: the trial's own bracket,
   * Optuna's `_filter_study`). Absent means the whole study.
   */
  studyFor?(study: StudyView, trial: FrozenTrial): StudyView;
}

/**
 * Never prunes (Optuna's `NopPruner`), the default.
 *
 * @example
 * createStudy({ pruner: new NopPruner() });
 */
export class NopPruner implements Pruner {
  prune(): boolean {
    return false;
  }
}
