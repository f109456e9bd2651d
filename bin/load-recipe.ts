/**
 * Loads a recipe file (TypeScript or JavaScript whose default export is the recipe object) and applies `--set`
 * overrides. Every way this can go wrong is a ConfigError naming the file or the field.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { applyOverrides } from '../models/config-parse.ts';
import { ConfigError } from '../runtime/errors.ts';
import { resolveRecipePaths } from '../trainers/recipe-paths.ts';

export async function loadRecipeFile(file: string, overrides: readonly string[] = []): Promise<unknown> {
  const path = resolve(file);
  if (!existsSync(path)) throw new ConfigError([{ path: 'recipe', message: `no recipe file at ${path}` }]);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n').slice(0, 3).join(' ') : String(error);
    throw new ConfigError([{ path: 'recipe', message: `${file} could not be loaded: ${reason}` }]);
  }
  if (module.default === undefined || typeof module.default !== 'object' || module.default === null || Array.isArray(module.default)) {
    throw new ConfigError([{ path: 'recipe', message: `${file} must have a default export that is the recipe object (export default defineRecipe({ ... }))` }]);
  }
  // The file's dataset and reward-module paths are relative to it; paths given in overrides, to the working directory.
  return applyOverrides(resolveRecipePaths(module.default as Record<string, unknown>, dirname(path)), overrides);
}
