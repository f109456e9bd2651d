/**
 * Built-in length reward: `-penalty * |length - target|` (or only the excess over `target` with `overOnly`),
 * length in generated tokens (from `completionIds`) or in characters. 0 at the target, more negative the
 * further off; add it with a small weight next to a task reward to curb rambling.
 */
import type { RewardFunction } from './reward-function.ts';

/**
 * @example
 * export const brevity = lengthPenalty({ target: 64, unit: 'tokens', penalty: 0.01, overOnly: true });
 */
export function lengthPenalty(options: { target: number; penalty?: number; unit?: 'tokens' | 'characters'; overOnly?: boolean }): RewardFunction {
  const { target } = options;
  if (!(Number.isFinite(target) && target >= 0)) throw new RangeError(`lengthPenalty: target must be a non-negative number, got ${target}`);
  const penalty = options.penalty ?? 1 / Math.max(1, target);
  const unit = options.unit ?? 'tokens';
  return (completions, context) =>
    completions.map((completion, index) => {
      const length = unit === 'tokens' ? context.completionIds[index]!.length : completion.length;
      const off = options.overOnly === true ? Math.max(0, length - target) : Math.abs(length - target);
      return off === 0 ? 0 : -penalty * off;
    });
}
