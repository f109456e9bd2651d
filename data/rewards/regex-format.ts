/**
 * Built-in reward for output format: `matched` when the completion matches a regular expression, else
 * `unmatched` (e.g. DeepSeek-R1's `<think>...</think><answer>...</answer>` format reward).
 */
import type { RewardFunction } from './reward-function.ts';

/**
 * @example
 * export const format = regexFormat({ pattern: String.raw`^<think>[\s\S]*</think>\s*<answer>[\s\S]*</answer>$` });
 */
export function regexFormat(options: { pattern: string | RegExp; flags?: string; matched?: number; unmatched?: number }): RewardFunction {
  const source = typeof options.pattern === 'string' ? options.pattern : options.pattern.source;
  // No 'g' or 'y': they make test() stateful across completions.
  const flags = (options.flags ?? (typeof options.pattern === 'string' ? '' : options.pattern.flags)).replace(/[gy]/g, '');
  const pattern = new RegExp(source, flags);
  const matched = options.matched ?? 1;
  const unmatched = options.unmatched ?? 0;
  return (completions) => completions.map((completion) => (pattern.test(completion) ? matched : unmatched));
}
