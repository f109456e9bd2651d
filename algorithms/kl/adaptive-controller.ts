/**
 * Adaptive KL coefficient (Ziegler et al. 2019, "Fine-Tuning Language Models from Human Preferences", Sec. 2.2):
 * nudges beta so that the observed KL tracks a target,
 *   e = clip(KL / target - 1, -0.2, 0.2);   beta <- beta * (1 + e * nSteps / horizon)
 */
import { AlgorithmInputError } from '../checks.ts';
import type { KlControllerState } from './fixed-controller.ts';

export interface AdaptiveKlOptions {
  /** Starting beta. */
  initial: number;
  /** KL (nats per sequence, as measured by the caller) to steer towards. */
  target: number;
  /** Steps over which a 20% error changes beta by 20% (e.g. 10000). */
  horizon: number;
}

/**
 * @example
 * const kl = new AdaptiveKlController({ initial: 0.2, target: 6, horizon: 10000 });
 * kl.update(observedKl, batchSize);
 */
export class AdaptiveKlController {
  value: number;
  readonly target: number;
  readonly horizon: number;

  constructor(options: AdaptiveKlOptions) {
    const name = 'AdaptiveKlController';
    if (!(options.initial >= 0) || !Number.isFinite(options.initial)) throw new AlgorithmInputError(name, 'initial', `initial must be >= 0, got ${options.initial}`);
    if (!(options.target > 0)) throw new AlgorithmInputError(name, 'target', `target must be > 0, got ${options.target}`);
    if (!(options.horizon > 0)) throw new AlgorithmInputError(name, 'horizon', `horizon must be > 0, got ${options.horizon}`);
    this.value = options.initial;
    this.target = options.target;
    this.horizon = options.horizon;
  }

  /** Rebuilds a controller from `state()`. */
  static fromState(state: Extract<KlControllerState, { kind: 'adaptive' }>): AdaptiveKlController {
    return new AdaptiveKlController({ initial: state.value, target: state.target, horizon: state.horizon });
  }

  /**
   * @param observedKl the KL measured on the last batch
   * @param steps how many samples (or steps) that measurement covers
   */
  update(observedKl: number, steps: number): void {
    if (!Number.isFinite(observedKl)) throw new AlgorithmInputError('AdaptiveKlController.update', 'observedKl', `observedKl must be finite, got ${observedKl}`);
    const error = Math.min(Math.max(observedKl / this.target - 1, -0.2), 0.2);
    this.value *= 1 + (error * steps) / this.horizon;
  }

  state(): KlControllerState {
    return { kind: 'adaptive', value: this.value, target: this.target, horizon: this.horizon };
  }
}
