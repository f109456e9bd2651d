/**
 * The verifiable task: small-number arithmetic such as `23+45=` -> `68`, the reward being exact correctness
 * (the RLVR / GRPO setting: DeepSeekMath, Shao et al. 2024; the reward needs no model at all).
 *
 * - Problems: every `a op b` with a, b in [0, maxOperand] for each op in `operations` (`-` only with a >= b, so
 *   answers are never negative; `*` makes it harder). A seeded `evalFraction` of the problems is held out: eval
 *   prompts never appear in the SFT corpus nor among training prompts.
 * - Gold reward: 1 when the completion (the text before EOS) is exactly the answer in canonical decimal (no sign,
 *   no leading zeros, nothing else), 0 otherwise, and 0 when no EOS was produced. Best reachable 1; the SFT corpus
 *   (always correct) has expectation 1, so what matters is the SFT *model's* accuracy on held-out problems.
 * - Difficulty: the default (addition, operands 0..99; 9,000 train and 1,000 eval problems) puts a bench-S model in
 *   the useful band after a few hundred SFT steps. Measured with the PyTorch bench-S peer (AdamW lr 1e-3, batch 64,
 *   loss on the answer only), held-out exact match at 100 / 300 / 500 / 800 steps: 3% / 10% / 64% / 81% greedy,
 *   2% / 7% / 47% / 72% sampled at temperature 1. Add `-` or `*` to make it harder.
 * - Any tokenizer: the task is text. By default the character tokenizer; with another one
 *   (`new ArithmeticTask(options, tokenizer)`) the limits are counted in its tokens over every problem (so at most
 *   200,000 problems), with the same two tokens of slack after the longest answer. Problems, splits and rewards do
 *   not depend on the tokenizer.
 *
 * @example
 * const task = new ArithmeticTask({ seed: 3 });
 * task.sftExample(0);                 // { prompt: '23+6=', completion: '29' }
 * task.goldReward('23+45=', '68');    // 1
 * task.goldReward('23+45=', '068');   // 0 (not canonical)
 */
import { z } from 'zod';
import type { Tokenizer } from '../../data/tokenizers/tokenizer.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { CharTokenizer } from '../tokenizer.ts';
import type { Rng } from '../rng.ts';
import { exampleRng, splitIndices } from './seeded.ts';
import type { GoldRewardOptions, RewardReference, SftExample, Task, TaskLimits } from './task.ts';
import { TaskError } from './task-error.ts';
import { parseConfig } from '../config-parse.ts';

export const ArithmeticTaskOptions = z
  .object({
    /** Seed of the split and of every example. */
    seed: z.number().int().nonnegative().default(0),
    /** Largest operand (operands are 0..maxOperand). */
    maxOperand: z.number().int().min(1).max(999).default(99),
    /** Operations to draw problems from. */
    operations: z.array(z.enum(['+', '-', '*'])).min(1).default(['+']),
    /** Share of all problems held out for evaluation. */
    evalFraction: z.number().gt(0).lt(1).default(0.1),
  })
  .strict();
export type ArithmeticTaskOptions = z.input<typeof ArithmeticTaskOptions>;

type Operation = '+' | '-' | '*';

const PROMPT_PATTERN = /^(\d+)([+\-*])(\d+)=$/;
const CANONICAL_ANSWER = /^(0|[1-9]\d*)$/;
/** Most problems whose prompts and answers are all encoded to count another tokenizer's limits. */
const MAX_PROBLEMS_COUNTED = 200_000;

export class ArithmeticTask<T extends Tokenizer = CharTokenizer> implements Task {
  readonly name = 'arithmetic';
  readonly seed: number;
  readonly tokenizer: T;
  readonly limits: TaskLimits;
  readonly reward: RewardReference = { min: 0, best: 1, corpusExpected: 1 };
  private readonly options: z.output<typeof ArithmeticTaskOptions>;
  private readonly operations: Operation[];
  /** Problem codes, see `promptOf`. */
  private readonly split: { train: Int32Array; eval: Int32Array };

  /** `tokenizer` defaults to the character tokenizer. */
  constructor(options: ArithmeticTaskOptions = {}, tokenizer?: T) {
    this.options = parseConfig(ArithmeticTaskOptions, options, 'task');
    this.tokenizer = tokenizer ?? (new CharTokenizer() as Tokenizer as T);
    this.seed = this.options.seed;
    const operations = [...new Set(this.options.operations)];
    this.operations = operations;
    // Problems are numbered (operation, left, right) -> code, so even 3 x 1000 x 1000 problems split in a few MB.
    const side = this.options.maxOperand + 1;
    const total = operations.reduce((sum, operation) => sum + (operation === '-' ? (side * (side + 1)) / 2 : side * side), 0);
    const codes = new Int32Array(total);
    let filled = 0;
    operations.forEach((operation, operationIndex) => {
      for (let left = 0; left < side; left++) {
        for (let right = 0; right < side; right++) {
          if (operation === '-' && left < right) continue;
          codes[filled++] = (operationIndex * side + left) * side + right;
        }
      }
    });
    const { train, eval: held } = splitIndices(codes.length, this.seed, this.options.evalFraction);
    this.split = { train: train.map((index) => codes[index]!), eval: held.map((index) => codes[index]!) };
    const operandDigits = String(this.options.maxOperand).length;
    const largestAnswer = Math.max(
      ...operations.map((operation) => evaluate(this.options.maxOperand, operation, this.options.maxOperand)),
    );
    this.limits = {
      promptTokens: 1 + 2 * operandDigits + 2,
      // Room for the longest answer, EOS and two characters of slack, so a slightly long wrong answer is still read
      // as a finished (wrong) answer rather than cut off.
      completionTokens: String(largestAnswer).length + 3,
      sequenceTokens: 0,
    };
    if (tokenizer) this.limits = this.tokenLimits(tokenizer, codes);
    this.limits.sequenceTokens = this.limits.promptTokens + this.limits.completionTokens;
  }

  sftExample(index: number): SftExample {
    const prompt = this.pickTrainPrompt(exampleRng(this.seed, 'sft', index));
    return { prompt, completion: this.answer(prompt) };
  }

  trainPrompt(index: number): string {
    return this.pickTrainPrompt(exampleRng(this.seed, 'prompts', index));
  }

  evalPrompts(count = this.split.eval.length): string[] {
    return Array.from(this.split.eval.subarray(0, count), (code) => this.promptOf(code));
  }

  /** Number of train and eval problems. */
  sizes(): { train: number; eval: number } {
    return { train: this.split.train.length, eval: this.split.eval.length };
  }

  /** The correct answer to a prompt such as `23+45=`, as canonical decimal text. */
  answer(prompt: string): string {
    const match = PROMPT_PATTERN.exec(prompt);
    if (!match) {
      throw new TaskError('TASK_PROMPT_UNKNOWN', `${JSON.stringify(prompt)} is not an arithmetic prompt like "23+45="`, {
        path: 'prompt',
      });
    }
    return String(evaluate(Number(match[1]), match[2] as Operation, Number(match[3])));
  }

  goldReward(prompt: string, completion: string, options: GoldRewardOptions = {}): number {
    const expected = this.answer(prompt);
    if (options.finished === false) return 0;
    return CANONICAL_ANSWER.test(completion) && completion === expected ? 1 : 0;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, ...this.options };
  }

  /** The longest prompt (with special tokens) and answer (plus EOS and two of slack) in `tokenizer`'s tokens. */
  private tokenLimits(tokenizer: Tokenizer, codes: Int32Array): TaskLimits {
    if (codes.length > MAX_PROBLEMS_COUNTED) {
      throw new ConfigError([
        {
          path: 'task.maxOperand',
          message: `with a tokenizer other than the character one, limits are counted over every problem: at most ${MAX_PROBLEMS_COUNTED} problems, got ${codes.length} (lower maxOperand or use fewer operations)`,
        },
      ]);
    }
    let promptTokens = 0;
    let answerTokens = 0;
    const answersSeen = new Set<string>();
    for (const code of codes) {
      const prompt = this.promptOf(code);
      promptTokens = Math.max(promptTokens, tokenizer.encode(prompt, { addSpecialTokens: true }).length);
      const answer = this.answer(prompt);
      if (answersSeen.has(answer)) continue;
      answersSeen.add(answer);
      answerTokens = Math.max(answerTokens, tokenizer.encode(answer, { addSpecialTokens: false }).length);
    }
    return { promptTokens, completionTokens: answerTokens + 3, sequenceTokens: 0 };
  }

  private pickTrainPrompt(rng: Rng): string {
    return this.promptOf(this.split.train[rng.int(this.split.train.length)]!);
  }

  private promptOf(code: number): string {
    const side = this.options.maxOperand + 1;
    const right = code % side;
    const left = Math.floor(code / side) % side;
    return `${left}${this.operations[Math.floor(code / (side * side))]!}${right}=`;
  }
}

function evaluate(left: number, operation: Operation, right: number): number {
  if (operation === '+') return left + right;
  if (operation === '-') return left - right;
  return left * right;
}
