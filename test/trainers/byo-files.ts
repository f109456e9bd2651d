/**
 * A user's files for the "bring your own data and reward" tests, in the character tokenizer's alphabet: prompts
 * with an `answer` column, a reward module, and the bad files each error test needs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes the files under `directory` and returns their paths. */
export function writeByoFiles(directory: string) {
  const path = (name: string) => join(directory, name);
  const rows = Array.from({ length: 20 }, (_, index) => ({ prompt: `what is ${index % 7} plus ${(index * 3) % 5}?`, answer: (index % 7) + ((index * 3) % 5) }));
  const jsonl = (items: unknown[]) => `${items.map((item) => JSON.stringify(item)).join('\n')}\n`;
  writeFileSync(path('prompts.jsonl'), jsonl(rows));
  writeFileSync(path('sft.jsonl'), jsonl(rows.map((row) => ({ prompt: row.prompt, completion: ` ${row.answer}.` }))));
  writeFileSync(path('malformed.jsonl'), `${jsonl(rows.slice(0, 2))}{"prompt": "what is 1 plus 1?", "answer": 2\n`);
  writeFileSync(path('pairs.jsonl'), jsonl([{ prompt: 'what is 1 plus 1?', chosen: ' 2', rejected: ' 3' }]));
  writeFileSync(
    path('rewards.ts'),
    [
      '// 1 when the completion contains the answer column\'s number.',
      'export const containsAnswer = (completions: string[], context: { answer: unknown[] }) =>',
      '  completions.map((completion, index) => (completion.includes(String(context.answer[index])) ? 1 : 0));',
      '// Shorter completions score higher (ids up to EOS).',
      'export const short = (completions: string[], context: { completionIds: number[][] }) =>',
      '  context.completionIds.map((ids) => 1 / (1 + ids.length));',
      'export const throws = (completions: string[]) => { throw new Error(`cannot score ${completions.length}`); };',
      'export const nan = (completions: string[]) => completions.map((_, index) => (index === 1 ? Number.NaN : 0));',
      '',
    ].join('\n'),
  );
  return { prompts: path('prompts.jsonl'), sft: path('sft.jsonl'), malformed: path('malformed.jsonl'), pairs: path('pairs.jsonl'), rewards: path('rewards.ts') };
}
