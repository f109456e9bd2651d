/**
 * The benchmark workload of ../shared/peers/torch_rlhf_step.py as a task, so the real trainers can be timed on
 * exactly the peer's shapes: a 64-token vocabulary (61 characters + PAD/BOS/EOS), prompts of 16 tokens (BOS + 15
 * random characters), 32 generated tokens. There is nothing to learn: the gold reward is 0 for every completion.
 * Use it with `rollout.stopAtEos: false` so every row generates all 32 tokens, as the peer does.
 *
 * @example
 * const task = new RandomTokensTask({ seed: 0 });
 * task.trainPrompt(3);   // 15 random characters
 */
import { z } from 'zod';
import { parseConfig } from '../config-parse.ts';
import { CharTokenizer } from '../tokenizer.ts';
import { exampleRng } from './seeded.ts';
import type { RewardReference, SftExample, Task, TaskLimits } from './task.ts';

/** 61 characters: with PAD, BOS and EOS the vocabulary is 64, bench-S's. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const PROMPT_CHARACTERS = 15;
const GENERATED_TOKENS = 32;
const EVAL_PROMPTS = 64;

export const RandomTokensTaskOptions = z.strictObject({
  /** Seed of every prompt. */
  seed: z.int().nonnegative().default(0),
});
export type RandomTokensTaskOptions = z.input<typeof RandomTokensTaskOptions>;

export class RandomTokensTask implements Task {
  readonly name = 'random-tokens';
  readonly seed: number;
  readonly tokenizer = new CharTokenizer(ALPHABET.slice(0, 61));
  readonly limits: TaskLimits = { promptTokens: 1 + PROMPT_CHARACTERS, completionTokens: GENERATED_TOKENS, sequenceTokens: 1 + PROMPT_CHARACTERS + GENERATED_TOKENS };
  readonly reward: RewardReference = { min: 0, best: 0, corpusExpected: 0 };

  constructor(options: RandomTokensTaskOptions = {}) {
    this.seed = parseConfig(RandomTokensTaskOptions, options, 'task').seed;
  }

  sftExample(index: number): SftExample {
    return { prompt: this.randomText(index, 'prompt', PROMPT_CHARACTERS), completion: this.randomText(index, 'completion', GENERATED_TOKENS - 1) };
  }

  trainPrompt(index: number): string {
    return this.randomText(index, 'prompt', PROMPT_CHARACTERS);
  }

  evalPrompts(count = EVAL_PROMPTS): string[] {
    return Array.from({ length: count }, (_, index) => this.randomText(index, 'eval', PROMPT_CHARACTERS));
  }

  goldReward(): number {
    return 0;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, seed: this.seed };
  }

  private randomText(index: number, stream: string, length: number): string {
    const rng = exampleRng(this.seed, stream, index);
    const alphabet = this.tokenizer.alphabet;
    return Array.from({ length }, () => alphabet[rng.int(alphabet.length)]).join('');
  }
}
