/**
 * Generates the preference datasets recipes/sft-dpo-ppo-files.ts trains on (JSONL, TRL formats), from a seed. The
 * preference is a style a tiny fresh model can learn in minutes and a reward function can check: a short note
 * written calmly (" Dear Ann, the books arrived. Thanks.") is preferred to the same note shouted
 * (" ANN!!! THE BOOKS ARRIVED!!!"). The style is decided by the first generated token, so the preference is a
 * choice the policy makes, not a skill it must first acquire.
 *
 *   sft.jsonl                            prompt-completion, half calm and half shouted   (SFT: both styles are likely)
 *   preferences.jsonl                    prompt / chosen (calm) / rejected (shouted)      (reward model, DPO)
 *   prompts.jsonl / prompts-eval.jsonl   prompt-only                                      (PPO; eval: held-out reward)
 *
 * examples/rewards/style.ts scores the style (`calm`: 1 for a calm note, 0 otherwise). The eval prompts never
 * appear in any training file.
 *
 * Run: node --import tsx data/generate/style-preferences.ts [outDir=examples/data/preferences] [seed=2026]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exampleRng } from '../../models/tasks/seeded.ts';
import type { Rng } from '../../models/rng.ts';

/** One generated note request with both styles of answer. */
export interface StyleExample {
  /** The request, e.g. `Tell Ann that the books arrived.` */
  prompt: string;
  /** The calm note (the preferred style). */
  calm: string;
  /** The shouted note (the dispreferred style). */
  shouted: string;
}

const NAMES = ['Ann', 'Ben', 'Cara', 'Dev', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kim', 'Lea'];
const ITEMS = ['books', 'keys', 'plants', 'boxes', 'tickets', 'letters', 'shoes', 'cakes'];
const EVENTS = ['arrived', 'are ready', 'are late', 'are gone', 'were found', 'are here'];

/** Example `index` of the stream seeded by `seed`: a pure function of both. */
export function styleExample(seed: number, index: number): StyleExample {
  const rng = exampleRng(seed, 'style-preferences', index);
  const name = pick(rng, NAMES);
  const item = pick(rng, ITEMS);
  const event = pick(rng, EVENTS);
  return {
    prompt: `Tell ${name} that the ${item} ${event}.`,
    calm: ` Dear ${name}, the ${item} ${event}. Thanks.`,
    shouted: ` ${name.toUpperCase()}!!! THE ${item.toUpperCase()} ${event.toUpperCase()}!!!`,
  };
}

/** The example files: distinct prompts, eval disjoint from train. Returns file name -> JSONL text. */
export function styleDatasets(seed: number, sizes = { train: 400, eval: 64 }): Record<string, string> {
  const seen = new Set<string>();
  const examples: StyleExample[] = [];
  // 12 names x 8 items x 6 events = 576 distinct prompts.
  for (let index = 0; examples.length < sizes.train + sizes.eval; index++) {
    const example = styleExample(seed, index);
    if (seen.has(example.prompt)) continue;
    seen.add(example.prompt);
    examples.push(example);
  }
  const evalExamples = examples.slice(0, sizes.eval);
  const train = examples.slice(sizes.eval);
  const jsonl = (rows: object[]) => rows.map((row) => `${JSON.stringify(row)}\n`).join('');
  return {
    // Alternating styles: after SFT both are about equally likely, which is what preference training then moves.
    'sft.jsonl': jsonl(train.map(({ prompt, calm, shouted }, index) => ({ prompt, completion: index % 2 === 0 ? calm : shouted }))),
    'preferences.jsonl': jsonl(train.map(({ prompt, calm, shouted }) => ({ prompt, chosen: calm, rejected: shouted }))),
    'prompts.jsonl': jsonl(train.map(({ prompt }) => ({ prompt }))),
    'prompts-eval.jsonl': jsonl(evalExamples.map(({ prompt }) => ({ prompt }))),
  };
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outDir = resolve(process.argv[2] ?? 'examples/data/preferences');
  const seed = Number(process.argv[3] ?? 2026);
  mkdirSync(outDir, { recursive: true });
  for (const [file, text] of Object.entries(styleDatasets(seed))) {
    writeFileSync(join(outDir, file), text);
    process.stdout.write(`${join(outDir, file)}: ${text.split('\n').length - 1} rows, ${text.length} bytes\n`);
  }
}
