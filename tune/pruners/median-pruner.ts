import { PercentilePruner, type PercentilePrunerOptions } from './percentile-pruner.ts';

/**
 * Prunes a trial whose best intermediate value is worse than the median of the completed trials at the same
 * step (Optuna's `MedianPruner`: 5 startup trials, no warm-up, check every step by default).
 *
 * @example
 * createStudy({ pruner: new MedianPruner({ nStartupTrials: 5, nWarmupSteps: 3, intervalSteps: 1 }) });
 */
export class MedianPruner extends PercentilePruner {
  constructor(options: PercentilePrunerOptions = {}) {
    super(50, options);
  }
}
