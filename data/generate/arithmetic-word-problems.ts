/**
 * Generates the arithmetic word-problem datasets the example recipes train on (JSONL, TRL formats), from a seed:
 *
 *   prompts.jsonl / prompts-eval.jsonl   prompt-only with an `answer` column   (GRPO, PPO; eval: held-out accuracy)
 *   sft.jsonl                            prompt-completion, worked answer       (SFT)
 *   preference.jsonl                     prompt / chosen (right) / rejected (wrong) + `answer` (DPO, reward model)
 *
 * Problems are small (addition and subtraction of operands 1-5, one short phrasing each) so that a freshly
 * initialised model with GPT-2's tokenizer learns them in minutes on two cores: every number is one token, the
 * prompts use a few dozen distinct tokens, and the 40 distinct sums and differences repeat across names and items,
 * so that GRPO's few prompts per step revisit each of them (measured, see recipes/grpo-files.ts: with operands 1-9,
 * 126 facts, SFT at hidden 64 did not even copy the operands and GRPO gained nothing; operands up to 20 with
 * multiplication left SFT at 4% accuracy). Every completion ends with GSM8K's `#### <answer>` line, which the built-in numeric
 * reward reads. The eval prompts never appear in any training file (their sums do: what is held out is the wording).
 *
 * Run: node --import tsx data/generate/arithmetic-word-problems.ts [outDir=examples/data/arithmetic] [seed=2026]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exampleRng } from '../../models/tasks/seeded.ts';
import type { Rng } from '../../models/rng.ts';

/** One generated problem. */
export interface WordProblem {
  /** The question. */
  prompt: string;
  /** The worked answer, ending in `#### <answer>`. */
  completion: string;
  /** A plausible wrong worked answer (an off-by-some result), ending in `#### <wrong>`. */
  wrongCompletion: string;
  /** The numeric answer. */
  answer: number;
}

const NAMES = ['Ann', 'Ben', 'Cara', 'Dev', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivo', 'Jun'];
const ITEMS = ['apples', 'books', 'coins', 'marbles', 'pens', 'shells', 'stamps', 'cards'];

/** Operands are 1..MAX_OPERAND: every number in a problem (0-10) is one GPT-2 token. */
const MAX_OPERAND = 5;

/** Problem `index` of the stream seeded by `seed`: a pure function of both. */
export function wordProblem(seed: number, index: number): WordProblem {
  const rng = exampleRng(seed, 'arithmetic-word-problems', index);
  const name = pick(rng, NAMES);
  const item = pick(rng, ITEMS);
  const a = 1 + rng.int(MAX_OPERAND);
  const b = 1 + rng.int(MAX_OPERAND);
  let prompt: string;
  let working: string;
  let answer: number;
  if (rng.int(2) === 0) {
    prompt = `${name} has ${a} ${item} and gets ${b} more. How many ${item} now?`;
    answer = a + b;
    working = `${a} + ${b} = ${answer}`;
  } else {
    const [high, low] = a >= b ? [a, b] : [b, a];
    prompt = `${name} has ${high} ${item} and gives away ${low}. How many ${item} left?`;
    answer = high - low;
    working = `${high} - ${low} = ${answer}`;
  }
  // Off by 1-3, never negative (a subtraction's answer can be 0).
  const offset = 1 + rng.int(3);
  const wrong = rng.int(2) === 0 && answer - offset >= 0 ? answer - offset : answer + offset;
  const wrongWorking = working.replace(/= -?\d+$/, `= ${wrong}`);
  return { prompt, completion: ` ${working}\n#### ${answer}`, wrongCompletion: ` ${wrongWorking}\n#### ${wrong}`, answer };
}

/** The example files: distinct prompts, eval disjoint from train. Returns file name -> JSONL text. */
export function arithmeticDatasets(seed: number, sizes = { train: 500, eval: 100 }): Record<string, string> {
  const seen = new Set<string>();
  const problems: WordProblem[] = [];
  for (let index = 0; problems.length < sizes.train + sizes.eval; index++) {
    const problem = wordProblem(seed, index);
    if (seen.has(problem.prompt)) continue;
    seen.add(problem.prompt);
    problems.push(problem);
  }
  const evalProblems = problems.slice(0, sizes.eval);
  const train = problems.slice(sizes.eval);
  const jsonl = (rows: object[]) => rows.map((row) => `${JSON.stringify(row)}\n`).join('');
  return {
    'prompts.jsonl': jsonl(train.map(({ prompt, answer }) => ({ prompt, answer }))),
    'prompts-eval.jsonl': jsonl(evalProblems.map(({ prompt, answer }) => ({ prompt, answer }))),
    'sft.jsonl': jsonl(train.map(({ prompt, completion }) => ({ prompt, completion }))),
    'preference.jsonl': jsonl(train.map(({ prompt, completion, wrongCompletion, answer }) => ({ prompt, chosen: completion, rejected: wrongCompletion, answer }))),
  };
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outDir = resolve(process.argv[2] ?? 'examples/data/arithmetic');
  const seed = Number(process.argv[3] ?? 2026);
  mkdirSync(outDir, { recursive: true });
  for (const [file, text] of Object.entries(arithmeticDatasets(seed))) {
    writeFileSync(join(outDir, file), text);
    process.stdout.write(`${join(outDir, file)}: ${text.split('\n').length - 1} rows, ${text.length} bytes\n`);
  }
}
