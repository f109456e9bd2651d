import { ConfigError } from '../runtime/errors.ts';
import { rootLogger } from '../runtime/logging.ts';
import {
  type CategoricalChoice,
  categoricalDistribution,
  checkCompatibility,
  contains,
  type Distribution,
  floatDistribution,
  intDistribution,
  isSingle,
  type ParamValue,
  toExternal,
  toInternal,
} from './distributions.ts';
import type { Pruner } from './pruners/pruner.ts';
import type { Sampler } from './samplers/sampler.ts';
import type { SqliteStorage } from './storage/sqlite-storage.ts';
import type { StudyView } from './study-view.ts';
import type { FrozenTrial } from './types.ts';

/** What a trial needs from its study (kept narrow so that trial.ts does not import study.ts). */
export interface TrialContext {
  readonly storage: SqliteStorage;
  readonly view: StudyView;
  readonly sampler: Sampler;
  readonly pruner: Pruner;
}

/**
 * A running trial: suggests parameters, reports intermediate values, asks the pruner. Optuna's `Trial` in
 * camelCase; every call writes through to the study database at once.
 *
 * @example
 * const trial = study.ask();
 * const lr = trial.suggestFloat('lr', 1e-5, 1e-2, { log: true });
 * const layers = trial.suggestInt('layers', 1, 4);
 * const optimizer = trial.suggestCategorical('optimizer', ['adam', 'sgd']);
 * trial.report(0.5, 0);
 * if (trial.shouldPrune()) study.tell(trial, 'PRUNED');
 */
export class Trial {
  readonly trialId: number;
  readonly number: number;
  private readonly context: TrialContext;
  private readonly cachedParams: Record<string, ParamValue> = {};
  private readonly cachedDistributions: Record<string, Distribution> = {};
  private readonly cachedUserAttrs: Record<string, unknown> = {};
  private cachedSystemAttrs: Record<string, unknown> = {};
  private readonly intermediate = new Map<number, number>();

  /** @internal Created by `Study.ask()`. */
  constructor(context: TrialContext, stored: FrozenTrial) {
    this.context = context;
    this.trialId = stored.trialId;
    this.number = stored.number;
    Object.assign(this.cachedParams, stored.params);
    Object.assign(this.cachedDistributions, stored.distributions);
    Object.assign(this.cachedUserAttrs, stored.userAttrs);
    this.cachedSystemAttrs = { ...stored.systemAttrs };
    for (const [step, value] of stored.intermediateValues) this.intermediate.set(step, value);
  }

  /** A float in [low, high]; `log` samples in log space, `step` on a grid from `low`. */
  suggestFloat(name: string, low: number, high: number, options: { log?: boolean; step?: number } = {}): number {
    return this.suggest(name, floatDistribution(low, high, options, `suggestFloat('${name}')`)) as number;
  }

  /** An integer in [low, high] on a grid of `step` (default 1); `log` samples in log space. */
  suggestInt(name: string, low: number, high: number, options: { log?: boolean; step?: number } = {}): number {
    return this.suggest(name, intDistribution(low, high, options, `suggestInt('${name}')`)) as number;
  }

  /** One of `choices` (stored as its index, like Optuna). */
  suggestCategorical<T extends CategoricalChoice>(name: string, choices: readonly T[]): T {
    return this.suggest(name, categoricalDistribution(choices, `suggestCategorical('${name}')`)) as T;
  }

  /**
   * Records an intermediate objective value at `step` (>= 0). Reporting a step twice keeps the first value, as
   * Optuna does.
   */
  report(value: number, step: number): void {
    if (this.context.view.directions.length > 1) {
      throw new ConfigError([{ path: 'report', message: 'report() is not supported for multi-objective studies' }]);
    }
    if (!Number.isInteger(step) || step < 0) throw new ConfigError([{ path: 'report.step', message: `step must be a non-negative integer; got ${step}` }]);
    if (typeof value !== 'number') throw new ConfigError([{ path: 'report.value', message: `value must be a number; got ${typeof value}` }]);
    if (this.intermediate.has(step)) {
      rootLogger().warn({ trial: this.number, step }, 'the reported value is ignored because this step was already reported');
      return;
    }
    this.context.storage.setTrialIntermediateValue(this.trialId, step, value);
    this.intermediate.set(step, value);
  }

  /** Asks the study's pruner whether this trial should stop now, given what it has reported. */
  shouldPrune(): boolean {
    if (this.context.view.directions.length > 1) {
      throw new ConfigError([{ path: 'shouldPrune', message: 'shouldPrune() is not supported for multi-objective studies' }]);
    }
    this.refreshSystemAttrs();
    return this.context.pruner.prune(this.context.view, this.snapshot());
  }

  /** Stores a JSON-serialisable attribute on the trial (Optuna's `set_user_attr`). */
  setUserAttr(key: string, value: unknown): void {
    this.context.storage.setTrialUserAttr(this.trialId, key, value);
    this.cachedUserAttrs[key] = value;
  }

  get params(): Readonly<Record<string, ParamValue>> {
    return { ...this.cachedParams };
  }

  get distributions(): Readonly<Record<string, Distribution>> {
    return { ...this.cachedDistributions };
  }

  get userAttrs(): Readonly<Record<string, unknown>> {
    return { ...this.cachedUserAttrs };
  }

  get systemAttrs(): Readonly<Record<string, unknown>> {
    return { ...this.cachedSystemAttrs };
  }

  get intermediateValues(): ReadonlyMap<number, number> {
    return new Map(this.intermediate);
  }

  /** This trial as samplers and pruners see it (state RUNNING). */
  snapshot(): FrozenTrial {
    let lastStep: number | undefined;
    for (const step of this.intermediate.keys()) if (lastStep === undefined || step > lastStep) lastStep = step;
    return {
      trialId: this.trialId,
      number: this.number,
      state: 'RUNNING',
      value: undefined,
      values: undefined,
      datetimeStart: undefined,
      datetimeComplete: undefined,
      params: { ...this.cachedParams },
      distributions: { ...this.cachedDistributions },
      userAttrs: { ...this.cachedUserAttrs },
      systemAttrs: { ...this.cachedSystemAttrs },
      intermediateValues: new Map(this.intermediate),
      lastStep,
    };
  }

  /** @internal Re-reads system attributes (samplers and pruners write them through the storage). */
  refreshSystemAttrs(): void {
    this.cachedSystemAttrs = { ...this.context.storage.getTrial(this.trialId).systemAttrs };
  }

  /** @internal Suggests (or returns the already-fixed value of) one parameter; Optuna's `Trial._suggest`. */
  suggest(name: string, distribution: Distribution): ParamValue {
    const existing = this.cachedDistributions[name];
    if (existing) {
      checkCompatibility(name, existing, distribution);
      return this.cachedParams[name]!;
    }
    let value: ParamValue;
    const fixed = this.cachedSystemAttrs.fixed_params as Record<string, ParamValue> | undefined;
    if (fixed && Object.hasOwn(fixed, name)) {
      value = fixed[name]!;
      if (!contains(distribution, toInternal(distribution, value))) {
        rootLogger().warn({ trial: this.number, param: name, value }, 'fixed parameter is out of range of its distribution');
      }
    } else if (isSingle(distribution)) {
      value = distribution.kind === 'categorical' ? distribution.choices[0]! : distribution.low;
    } else {
      const study = this.context.pruner.studyFor?.(this.context.view, this.snapshot()) ?? this.context.view;
      value = this.context.sampler.sampleIndependent(study, this.snapshot(), name, distribution);
    }
    const internal = toInternal(distribution, value);
    this.context.storage.setTrialParam(this.trialId, name, internal, distribution);
    this.cachedDistributions[name] = distribution;
    this.cachedParams[name] = toExternal(distribution, internal);
    return this.cachedParams[name]!;
  }
}
