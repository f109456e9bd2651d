/**
 * Paths a recipe file writes (dataset files, reward modules) are relative to the recipe file, the way a user reads
 * them next to it; the trainers resolve what reaches them against the working directory. So the recipe loader
 * makes the file's own paths absolute before `--set` overrides apply, and an override's path (typed on the command
 * line) stays relative to where the command runs.
 */
import { isAbsolute, resolve } from 'node:path';

/**
 * The recipe with `data.train`, `data.eval` and `rewards[].module` (top level and per stage) made absolute from
 * `baseDir`; everything else is returned as it was.
 *
 * @example
 * resolveRecipePaths({ data: { train: './prompts.jsonl' }, stages: {} }, '/home/me/recipes');
 * // { data: { train: '/home/me/recipes/prompts.jsonl' }, stages: {} }
 */
export function resolveRecipePaths(recipe: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const resolved = withPaths(recipe, baseDir);
  const stages = recipe.stages;
  if (!isRecord(stages)) return resolved;
  return { ...resolved, stages: Object.fromEntries(Object.entries(stages).map(([name, stage]) => [name, isRecord(stage) ? withPaths(stage, baseDir) : stage])) };
}

function withPaths(section: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const out = { ...section };
  const absolute = (path: unknown) => (typeof path === 'string' && path.length > 0 && !isAbsolute(path) ? resolve(baseDir, path) : path);
  if (isRecord(section.data)) {
    const data: Record<string, unknown> = { ...section.data, train: absolute(section.data.train) };
    if (section.data.eval !== undefined) data.eval = absolute(section.data.eval);
    out.data = data;
  }
  if (Array.isArray(section.rewards)) out.rewards = section.rewards.map((spec) => (isRecord(spec) ? { ...spec, module: absolute(spec.module) } : spec));
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
