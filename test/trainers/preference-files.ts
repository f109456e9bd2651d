/**
 * A user's preference and prompt files for the DPO / reward-model / PPO "from files" tests, in the character
 * tokenizer's alphabet. The preference signal is one a one-layer model learns in a few steps: the chosen answer
 * ends with a full stop, the rejected one with an exclamation mark (same words otherwise).
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { characterTokenizerFiles } from '../../models/hf/init-model.ts';
import { prepareLlamaRoot } from './tiny-llama-suite.ts';

/** transformers' LlamaForSequenceClassification (1 label), from ../shared/fixtures/hf/. */
const REWARD_FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/hf/llama-reward');

/**
 * A temporary directory with `llama/` (SMALL_LLAMA, character tokenizer), `llama-reward/` (the fixture reward
 * model with the character tokenizer's files: its vocabulary of 260 holds their 55 ids) and the files below.
 */
export function preparePreferenceRoot(name: string) {
  const root = prepareLlamaRoot(name);
  cpSync(REWARD_FIXTURE, join(root, 'llama-reward'), { recursive: true });
  for (const [file, text] of Object.entries(characterTokenizerFiles())) writeFileSync(join(root, 'llama-reward', file), text);
  return { root, files: writePreferenceFiles(root) };
}

/** Writes the files under `directory` and returns their paths. */
export function writePreferenceFiles(directory: string) {
  const path = (name: string) => join(directory, name);
  const jsonl = (items: unknown[]) => `${items.map((item) => JSON.stringify(item)).join('\n')}\n`;
  const questions = Array.from({ length: 40 }, (_, index) => ({ prompt: `what is ${index % 7} plus ${(index * 3) % 5}?`, answer: (index % 7) + ((index * 3) % 5) }));
  writeFileSync(path('pairs.jsonl'), jsonl(questions.map((row) => ({ prompt: row.prompt, chosen: ` it is ${row.answer}.`, rejected: ` it is ${row.answer}!`, answer: row.answer }))));
  // The same pairs with the prompt left inside both sides (TRL's implicit-prompt preference).
  writeFileSync(path('implicit.jsonl'), jsonl(questions.map((row) => ({ chosen: `${row.prompt} it is ${row.answer}.`, rejected: `${row.prompt} it is ${row.answer}!` }))));
  writeFileSync(path('prompts.jsonl'), jsonl(questions.map((row) => ({ prompt: row.prompt, answer: row.answer }))));
  writeFileSync(
    path('style.ts'),
    [
      '// 1 when the completion has a full stop and no exclamation mark: the style the pairs prefer.',
      "export const calm = (completions: string[]) => completions.map((text) => (text.includes('.') && !text.includes('!') ? 1 : 0));",
      '// Shorter completions score higher (ids up to EOS).',
      'export const short = (completions: string[], context: { completionIds: number[][] }) => context.completionIds.map((ids) => 1 / (1 + ids.length));',
      '',
    ].join('\n'),
  );
  return { pairs: path('pairs.jsonl'), implicit: path('implicit.jsonl'), prompts: path('prompts.jsonl'), style: path('style.ts') };
}
