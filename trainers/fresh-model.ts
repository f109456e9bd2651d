/**
 * `model.init`: a recipe (or a trainer config) that names a fresh Llama for its `model.from` folder gets that
 * folder written before its stages are validated (validation reads the folder's config.json), so the recipe runs
 * from a fresh clone with no `recipe model init` step. The folder is what `recipe model init` writes for the same
 * tokenizer, sizes and seed (`model.initSeed`), byte for byte; a folder that already holds a model is left alone.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { initLlamaFolder, writeTokenizerFiles } from '../models/hf/init-model.ts';
import { initShape, modelSection, type ModelInitConfig } from './config-sections.ts';

/**
 * Writes the fresh model of every `model` section (the top level's and each stage's) that has `init` and whose
 * `from` folder holds no model yet. Sections that do not validate are skipped: validating the recipe reports them.
 * Returns the folders written.
 *
 * @example
 * writeFreshModels({ model: { from: 'runs/my-llama', init: { tokenizer: 'gpt2', hidden: 64 } } }); // ['runs/my-llama']
 */
export function writeFreshModels(recipe: unknown): string[] {
  const written: string[] = [];
  for (const section of modelSections(recipe)) {
    const parsed = modelSection.safeParse(section);
    if (!parsed.success || !parsed.data.init || parsed.data.from === undefined || parsed.data.from.startsWith('hf:')) continue;
    const { from, init, initSeed } = parsed.data;
    if (existsSync(join(from, 'config.json'))) continue;
    if (existsSync(from) && readdirSync(from).length > 0) {
      writeModel(from, init, initSeed); // a folder the user made and filled with other files: add the model to it
    } else {
      // Written beside the folder and renamed into place, so a run killed half-way leaves no half-written model.
      const partial = join(dirname(resolve(from)), `.${basename(resolve(from))}.partial-${process.pid}`);
      rmSync(partial, { recursive: true, force: true });
      writeModel(partial, init, initSeed);
      try {
        if (existsSync(from)) rmdirSync(from); // an empty folder (rmdir refuses a full one)
        renameSync(partial, from);
      } catch (error) {
        rmSync(partial, { recursive: true, force: true });
        // Another run of the same recipe renamed its copy into place first: the same bytes, nothing to do.
        if (!existsSync(join(from, 'config.json'))) throw error;
        continue;
      }
    }
    written.push(from);
  }
  return written;
}

function writeModel(directory: string, init: ModelInitConfig, seed: number): void {
  mkdirSync(directory, { recursive: true });
  initLlamaFolder(directory, initShape(init), { seed });
  writeTokenizerFiles(directory, init.tokenizer);
}

/** The recipe's `model` and each stage's, as written (a trainer config is a recipe without stages). */
function modelSections(recipe: unknown): unknown[] {
  const sections: unknown[] = [];
  const visit = (owner: unknown) => {
    const model = (owner as { model?: unknown } | undefined)?.model;
    if (model !== undefined) sections.push(model);
  };
  visit(recipe);
  for (const stage of Object.values((recipe as { stages?: Record<string, unknown> } | undefined)?.stages ?? {})) visit(stage);
  return sections;
}
