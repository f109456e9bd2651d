import { ConfigError } from '../runtime/errors.ts';
import { PythonFloat, parsePythonJson, pythonFloatRepr, toPythonJson } from './storage/python-json.ts';

/**
 * Parameter distributions with Optuna's semantics and storage format: `FloatDistribution`, `IntDistribution` and
 * `CategoricalDistribution`. A parameter's *internal* value (the `trial_params.param_value` column) is the number
 * itself for float/int parameters and the index of the choice for categorical ones.
 */

/** A categorical choice Optuna can persist. */
export type CategoricalChoice = null | boolean | number | string;
/** A parameter's user-facing value. */
export type ParamValue = number | CategoricalChoice;

export interface FloatDistribution {
  readonly kind: 'float';
  readonly low: number;
  /** Already lowered to the last grid point when `step` does not divide the range (as Optuna does). */
  readonly high: number;
  readonly log: boolean;
  readonly step: number | null;
}

export interface IntDistribution {
  readonly kind: 'int';
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
  readonly step: number;
}

export interface CategoricalDistribution {
  readonly kind: 'categorical';
  readonly choices: readonly CategoricalChoice[];
}

export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;

/**
 * A float distribution, validated like Optuna's constructor.
 *
 * @example
 * floatDistribution(1e-5, 1e-2, { log: true });
 * floatDistribution(0, 1, { step: 0.1 });
 */
export function floatDistribution(low: number, high: number, options: { log?: boolean; step?: number | null } = {}, path = 'distribution'): FloatDistribution {
  const log = options.log ?? false;
  const step = options.step ?? null;
  const problems: { path: string; message: string }[] = [];
  if (!Number.isFinite(low) || !Number.isFinite(high)) problems.push({ path, message: `low and high must be finite numbers (low=${low}, high=${high})` });
  else if (low > high) problems.push({ path: `${path}.low`, message: `low must be <= high (low=${low}, high=${high})` });
  if (log && step !== null) problems.push({ path: `${path}.step`, message: 'step cannot be combined with log: true' });
  if (log && low <= 0) problems.push({ path: `${path}.low`, message: `low must be > 0 for a log distribution (low=${low})` });
  if (step !== null && !(step > 0)) problems.push({ path: `${path}.step`, message: `step must be > 0 (step=${step})` });
  if (problems.length > 0) throw new ConfigError(problems);
  return { kind: 'float', low, high: step === null ? high : adjustDecimalHigh(low, high, step), log, step };
}

/**
 * An int distribution, validated like Optuna's constructor (`high` is lowered onto the step grid).
 *
 * @example
 * intDistribution(8, 64, { step: 8 });
 */
export function intDistribution(low: number, high: number, options: { log?: boolean; step?: number } = {}, path = 'distribution'): IntDistribution {
  const log = options.log ?? false;
  const step = options.step ?? 1;
  const problems: { path: string; message: string }[] = [];
  if (!Number.isInteger(low) || !Number.isInteger(high)) problems.push({ path, message: `low and high must be integers (low=${low}, high=${high})` });
  else if (low > high) problems.push({ path: `${path}.low`, message: `low must be <= high (low=${low}, high=${high})` });
  if (log && step !== 1) problems.push({ path: `${path}.step`, message: `step must be 1 when log: true (step=${step})` });
  if (log && low < 1) problems.push({ path: `${path}.low`, message: `low must be >= 1 for a log distribution (low=${low})` });
  if (!Number.isInteger(step) || step <= 0) problems.push({ path: `${path}.step`, message: `step must be a positive integer (step=${step})` });
  if (problems.length > 0) throw new ConfigError(problems);
  return { kind: 'int', low, high: high - ((high - low) % step), log, step };
}

/**
 * A categorical distribution over persistable choices.
 *
 * @example
 * categoricalDistribution(['adam', 'adamw', 'sgd']);
 */
export function categoricalDistribution(choices: readonly CategoricalChoice[], path = 'distribution'): CategoricalDistribution {
  if (choices.length === 0) throw new ConfigError([{ path: `${path}.choices`, message: 'choices must contain at least one element' }]);
  for (const [index, choice] of choices.entries()) {
    if (choice !== null && !['boolean', 'number', 'string'].includes(typeof choice)) {
      throw new ConfigError([{ path: `${path}.choices[${index}]`, message: `choices must be null, boolean, number or string; got ${typeof choice}` }]);
    }
  }
  return { kind: 'categorical', choices: [...choices] };
}

/** User value -> the number stored in `trial_params.param_value`. */
export function toInternal(distribution: Distribution, value: ParamValue): number {
  if (distribution.kind === 'categorical') {
    const index = distribution.choices.findIndex((choice) => choicesEqual(choice, value));
    if (index < 0) throw new ConfigError([{ path: 'param', message: `${JSON.stringify(value)} is not one of ${JSON.stringify(distribution.choices)}` }]);
    return index;
  }
  const number = typeof value === 'number' ? value : Number(value);
  if (Number.isNaN(number)) throw new ConfigError([{ path: 'param', message: `${JSON.stringify(value)} is not a number` }]);
  if (distribution.log && number <= 0) throw new ConfigError([{ path: 'param', message: `${number} is invalid for a log distribution` }]);
  return number;
}

/** Stored number -> user value (ints are truncated like Python's `int()`, choices looked up by index). */
export function toExternal(distribution: Distribution, internal: number): ParamValue {
  if (distribution.kind === 'categorical') return distribution.choices[Math.trunc(internal)] ?? null;
  if (distribution.kind === 'int') return Math.trunc(internal);
  return internal;
}

/** Whether a stored number is a legal value of the distribution (Optuna's `_contains`). */
export function contains(distribution: Distribution, internal: number): boolean {
  if (distribution.kind === 'categorical') {
    const index = Math.trunc(internal);
    return index >= 0 && index < distribution.choices.length;
  }
  if (!(internal >= distribution.low && internal <= distribution.high)) return false;
  if (distribution.kind === 'int') return (internal - distribution.low) % distribution.step === 0;
  if (distribution.step === null) return true;
  const k = (internal - distribution.low) / distribution.step;
  return Math.abs(k - Math.round(k)) < 1e-8;
}

/** A distribution with exactly one possible value (Optuna's `single`). */
export function isSingle(distribution: Distribution): boolean {
  if (distribution.kind === 'categorical') return distribution.choices.length === 1;
  if (distribution.low === distribution.high) return true;
  if (distribution.kind === 'int') return !distribution.log && distribution.high - distribution.low < distribution.step;
  if (distribution.step === null) return false;
  const [high, low, step] = toCommonDecimal([distribution.high, distribution.low, distribution.step]);
  return high! - low! < step!;
}

/** Structural equality (categorical choices compare like Optuna: NaN equals NaN). */
export function distributionsEqual(a: Distribution, b: Distribution): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'categorical' && b.kind === 'categorical') {
    return a.choices.length === b.choices.length && a.choices.every((choice, index) => choicesEqual(choice, b.choices[index]!));
  }
  const x = a as FloatDistribution | IntDistribution;
  const y = b as FloatDistribution | IntDistribution;
  return x.low === y.low && x.high === y.high && x.log === y.log && x.step === y.step;
}

/**
 * Optuna's `check_distribution_compatibility`: a parameter name keeps its kind and log flag across a study, and a
 * categorical parameter keeps its exact choices. Throws a ConfigError naming the parameter.
 */
export function checkCompatibility(name: string, previous: Distribution, next: Distribution): void {
  const problem =
    previous.kind !== next.kind
      ? `was ${previous.kind} and cannot become ${next.kind}`
      : previous.kind !== 'categorical' && previous.log !== (next as FloatDistribution | IntDistribution).log
        ? `cannot switch log from ${previous.log} to ${!previous.log}`
        : previous.kind === 'categorical' && !distributionsEqual(previous, next)
          ? `choices cannot change (were ${JSON.stringify(previous.choices)}, now ${JSON.stringify((next as CategoricalDistribution).choices)})`
          : undefined;
  if (problem) throw new ConfigError([{ path: `params.${name}`, message: `parameter '${name}' ${problem} within one study` }]);
}

/**
 * Optuna's `distribution_to_json`, byte for byte: attribute order follows the Python objects' `__dict__`.
 *
 * @example
 * distributionToJson(floatDistribution(1e-5, 1, { log: true }));
 * // '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 1.0, "log": true}}'
 */
export function distributionToJson(distribution: Distribution): string {
  switch (distribution.kind) {
    case 'float':
      return toPythonJson({
        name: 'FloatDistribution',
        attributes: {
          step: distribution.step === null ? null : new PythonFloat(distribution.step),
          low: new PythonFloat(distribution.low),
          high: new PythonFloat(distribution.high),
          log: distribution.log,
        },
      });
    case 'int':
      return toPythonJson({
        name: 'IntDistribution',
        attributes: { log: distribution.log, step: distribution.step, low: distribution.low, high: distribution.high },
      });
    case 'categorical':
      return toPythonJson({ name: 'CategoricalDistribution', attributes: { choices: distribution.choices } });
  }
}

/** Optuna's `json_to_distribution`, including the pre-3.0 names (`UniformDistribution`, ...) and the older form. */
export function distributionFromJson(json: string): Distribution {
  const parsed = parsePythonJson(json) as { name?: string; attributes?: Record<string, unknown>; type?: string } & Record<string, unknown>;
  const attributes = (parsed.attributes ?? parsed) as Record<string, unknown>;
  const low = attributes.low as number;
  const high = attributes.high as number;
  switch (parsed.name ?? parsed.type) {
    case 'FloatDistribution':
    case 'float':
      return floatDistribution(low, high, { log: Boolean(attributes.log), step: (attributes.step as number | null | undefined) ?? null });
    case 'UniformDistribution':
      return floatDistribution(low, high);
    case 'LogUniformDistribution':
      return floatDistribution(low, high, { log: true });
    case 'DiscreteUniformDistribution':
      return floatDistribution(low, high, { step: attributes.q as number });
    case 'IntDistribution':
    case 'int':
    case 'IntUniformDistribution':
      return intDistribution(low, high, { log: Boolean(attributes.log), step: (attributes.step as number | null | undefined) ?? 1 });
    case 'IntLogUniformDistribution':
      return intDistribution(low, high, { log: true, step: (attributes.step as number | undefined) ?? 1 });
    case 'CategoricalDistribution':
    case 'categorical':
      return categoricalDistribution(attributes.choices as CategoricalChoice[]);
    default:
      throw new ConfigError([{ path: 'distribution_json', message: `unknown distribution ${JSON.stringify(parsed.name ?? parsed.type)}` }]);
  }
}

/** Optuna's `_categorical_choice_equal`: plain equality, plus NaN == NaN. */
export function choicesEqual(a: ParamValue, b: ParamValue): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Optuna lowers `high` onto the step grid with decimal arithmetic on `str(float)`, so that `(0, 1, step=0.1)`
 * keeps `high=1.0`; we do the same with BigInt-scaled decimals.
 */
function adjustDecimalHigh(low: number, high: number, step: number): number {
  const [highScaled, lowScaled, stepScaled, scale] = toCommonDecimal([high, low, step]);
  const range = highScaled! - lowScaled!;
  if (range % stepScaled! === 0n) return high;
  const adjusted = (range / stepScaled!) * stepScaled! + lowScaled!;
  return Number(formatScaled(adjusted, scale!));
}

/** Numbers -> BigInts sharing one power-of-ten scale (the last element is the number of decimals). */
function toCommonDecimal(values: number[]): bigint[] {
  const parts = values.map((value) => {
    const [mantissa, exponentText] = pythonFloatRepr(value).split('e') as [string, string | undefined];
    const [integer, fraction = ''] = mantissa.replace('-', '').split('.') as [string, string | undefined];
    const negative = value < 0;
    const exponent = Number(exponentText ?? 0);
    const decimals = fraction.length - exponent;
    return { digits: BigInt(`${integer}${fraction}`) * (negative ? -1n : 1n), decimals };
  });
  const decimals = Math.max(0, ...parts.map((part) => part.decimals));
  const scaled = parts.map((part) => part.digits * 10n ** BigInt(decimals - part.decimals));
  return [...scaled, BigInt(decimals)];
}

function formatScaled(value: bigint, decimals: bigint): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(Number(decimals) + 1, '0');
  const cut = digits.length - Number(decimals);
  return `${negative ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut) || '0'}`;
}
