/**
 * A stable hash of what determines a stage's output (everything in its resolved config except where it is logged
 * and how it is named), so `recipe run` can tell whether a stage's model on disk is still the one the recipe asks
 * for and reuse it.
 */
import { createHash } from 'node:crypto';

/** Keys whose values never change what a stage computes. */
const IRRELEVANT = new Set(['name', 'logging', 'checkpoint', 'runtime']);

export function configHash(config: Record<string, unknown>): string {
  const relevant = Object.fromEntries(Object.entries(config).filter(([key]) => !IRRELEVANT.has(key)));
  return createHash('sha256').update(stableStringify(relevant)).digest('hex').slice(0, 16);
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
