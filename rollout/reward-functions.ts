/**
 * The reward functions' host: loads the functions a recipe names (`rewards: [{ module, export, weight }]`, module
 * paths relative to the recipe file; `.ts` works because the CLI runs under tsx) and checks each before any
 * step runs. Scoring is rollout/reward-scores.ts. The reward role's actor calls both; the module must be
 * importable where that actor runs (the same checkout on every node).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { RewardFunction } from '../data/rewards/reward-function.ts';
import { ConfigError } from '../runtime/errors.ts';

export const RewardSpecSchema = z
  .object({
    /** Module file exporting the function, relative to the recipe file (e.g. './rewards/math.ts'). */
    module: z.string().min(1),
    /** Name of the export; 'default' for a default export. */
    export: z.string().min(1).default('default'),
    /** Weight in the sum that is the reward (TRL's reward_weights); each function is also logged on its own. */
    weight: z.number().finite().default(1),
  })
  .strict();
/** One `rewards` entry as a recipe writes it. */
export type RewardSpecInput = z.input<typeof RewardSpecSchema>;
/** The recipe's `rewards` list (top level, overridable per stage). */
export const RewardsConfigSchema = z.array(RewardSpecSchema).min(1);

/** A loaded, checked reward function. */
export interface LoadedRewardFunction {
  /** `module#export`, as the recipe wrote the module: names it in logs, metrics and errors. */
  name: string;
  /** Its weight in the total. */
  weight: number;
  /** The function itself. */
  compute: RewardFunction;
}

/**
 * @example
 * const functions = await loadRewardFunctions([{ module: './rewards/math.ts', export: 'accuracy' }],
 *   { baseDir: dirname(recipeFile) });
 * const { total, perFunction } = await scoreCompletions(functions, completions, context);
 */
export async function loadRewardFunctions(specs: readonly RewardSpecInput[], options: { baseDir: string }): Promise<LoadedRewardFunction[]> {
  const parsed = RewardsConfigSchema.safeParse(specs);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => ({ path: ['rewards', ...issue.path].join('.'), message: issue.message })));
  const loaded: LoadedRewardFunction[] = [];
  for (const [index, spec] of parsed.data.entries()) {
    const name = `${spec.module}#${spec.export}`;
    if (loaded.some((other) => other.name === name)) {
      throw new ConfigError([{ path: `rewards.${index}`, message: `${name} is listed twice; list each function once and set its weight` }]);
    }
    loaded.push({ name, weight: spec.weight, compute: await importFunction(spec.module, spec.export, index, options.baseDir) });
  }
  return loaded;
}

async function importFunction(module: string, exportName: string, index: number, baseDir: string): Promise<RewardFunction> {
  const path = isAbsolute(module) ? module : resolve(baseDir, module);
  if (!existsSync(path)) throw new ConfigError([{ path: `rewards.${index}.module`, message: `no reward module at ${path} (module paths are relative to the recipe file)` }]);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n').slice(0, 3).join(' ') : String(error);
    throw new ConfigError([{ path: `rewards.${index}.module`, message: `${module} could not be loaded: ${reason}` }]);
  }
  const value = exports[exportName];
  if (value === undefined) {
    const available = Object.keys(exports).filter((key) => typeof exports[key] === 'function');
    throw new ConfigError([{ path: `rewards.${index}.export`, message: `${module} has no export "${exportName}"; its function exports: ${available.join(', ') || '(none)'}` }]);
  }
  if (typeof value !== 'function') {
    throw new ConfigError([{ path: `rewards.${index}.export`, message: `${module}#${exportName} is a ${typeof value}, expected a function (completions: string[], context) => number[]` }]);
  }
  return value as RewardFunction;
}
