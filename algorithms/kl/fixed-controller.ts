/**
 * A KL coefficient that never changes (Ziegler et al. 2019, "Fine-Tuning Language Models from Human
 * Preferences", Sec. 2.2, fixed beta).
 */
import { AlgorithmInputError } from '../checks.ts';

/** Serialisable state of either KL controller (for checkpoints). */
export type KlControllerState = { kind: 'fixed'; value: number } | { kind: 'adaptive'; value: number; target: number; horizon: number };

/**
 * @example
 * const kl = new FixedKlController(0.05);
 * rewards = -kl.value * klPerToken + score;
 */
export class FixedKlController {
  readonly value: number;

  constructor(value: number) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new AlgorithmInputError('FixedKlController', 'value', `value must be >= 0, got ${value}`);
    this.value = value;
  }

  /** No-op: a fixed coefficient ignores the observed KL. */
  update(_observedKl: number, _steps: number): void {}

  state(): KlControllerState {
    return { kind: 'fixed', value: this.value };
  }
}
