/**
 * Runs the loaded reward functions on a batch and combines them: total = sum of weight * value (TRL's
 * `reward_weights`), with each function's own values kept for per-step logging. Every result is checked: a
 * function that throws, returns the wrong number of values or a value that is not a finite number stops the
 * step with a RewardFunctionError naming the function, the sample and the value.
 */
import type { RewardContext } from '../data/rewards/reward-function.ts';
import { PosttrainError } from '../runtime/errors.ts';
import { RewardFunctionError } from './reward-function-error.ts';
import type { LoadedRewardFunction } from './reward-functions.ts';

/** A batch's rewards. */
export interface RewardScores {
  /** (B) sum over functions of weight * value: the reward the algorithm sees. */
  total: Float64Array;
  /** name (`module#export`) -> (B) that function's values, unweighted, for logging. */
  perFunction: Record<string, Float64Array>;
}

/**
 * @example
 * const { total, perFunction } = await scoreCompletions(functions, ['#### 5', '#### 6'],
 *   { prompts: ['2+3?', '2+3?'], completionIds: [[1, 2], [1, 3]], answer: [5, 5] });
 * // total [1, 0], perFunction { './math.ts#accuracy': [1, 0] }
 */
export async function scoreCompletions(functions: readonly LoadedRewardFunction[], completions: readonly string[], context: RewardContext): Promise<RewardScores> {
  const size = completions.length;
  for (const [column, values] of Object.entries(context)) {
    if (!Array.isArray(values) || values.length !== size) {
      throw new PosttrainError('REWARD_CONTEXT', `reward context column "${column}" has ${Array.isArray(values) ? values.length : 'no'} values for ${size} completions`, { path: column });
    }
  }
  const total = new Float64Array(size);
  const perFunction: Record<string, Float64Array> = {};
  for (const { name, weight, compute } of functions) {
    let result: ArrayLike<number>;
    try {
      // Copies, so one function cannot change what the next one sees.
      result = await compute([...completions], copyContext(context));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new RewardFunctionError(name, `threw on a batch of ${size} completions: ${message}`, { cause: error });
    }
    const values = checkValues(name, result, size);
    perFunction[name] = values;
    for (let index = 0; index < size; index++) total[index]! += weight * values[index]!;
  }
  return { total, perFunction };
}

/** The dataset columns of a batch of samples as the context's per-completion arrays. */
export function contextColumns(samples: readonly { columns: Record<string, unknown> }[]): Record<string, unknown[]> {
  const columns: Record<string, unknown[]> = {};
  samples.forEach((sample, index) => {
    for (const [column, value] of Object.entries(sample.columns)) (columns[column] ??= new Array<unknown>(samples.length).fill(undefined))[index] = value;
  });
  return columns;
}

function checkValues(name: string, result: unknown, size: number): Float64Array {
  const arrayLike = Array.isArray(result) || ArrayBuffer.isView(result);
  if (!arrayLike) throw new RewardFunctionError(name, `returned ${describe(result)}, expected an array of ${size} numbers (one per completion)`);
  const values = result as ArrayLike<unknown>;
  if (values.length !== size) throw new RewardFunctionError(name, `returned ${values.length} values for ${size} completions, expected one per completion`);
  const checked = new Float64Array(size);
  for (let index = 0; index < size; index++) {
    const value = values[index];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RewardFunctionError(name, `sample ${index}: returned ${describe(value)}, expected a finite number`);
    }
    checked[index] = value;
  }
  return checked;
}

function copyContext(context: RewardContext): RewardContext {
  return Object.fromEntries(Object.entries(context).map(([column, values]) => [column, [...values]])) as RewardContext;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
