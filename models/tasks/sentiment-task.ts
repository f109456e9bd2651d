/**
 * The preference task: continue a review's beginning ("the film was") so that the review is positive and
 * well-formed. It is the classic RLHF sentiment experiment (Ziegler et al. 2019 positive continuation; DPO paper
 * Fig. 2) shrunk to a language a 2-layer, d=128 character model learns in minutes.
 *
 * - SFT corpus: train prompts with well-formed completions of mixed sentiment (adjectives uniform over a symmetric
 *   lexicon), so the SFT model's expected gold reward is 0, halfway between the worst sentence (-1) and the best (1).
 * - Prompts: 130 review beginnings; a seeded 20% of them are held out for evaluation and never trained on.
 * - Gold reward: `sentiment-gold.ts` (range [-1.5, 1], best reachable 1, corpus expectation 0).
 * - Measured (PyTorch bench-S peer, AdamW lr 1e-3, batch 64, 400 SFT steps, temperature-1 samples on eval prompts):
 *   mean gold reward -0.03 with 91% of samples well-formed; uniformly random tokens score -1.50.
 * - Preference pairs: two completions of a train prompt with different gold rewards, mostly from the corpus
 *   distribution and, with probability `pairCorruption`, malformed variants (truncated, repeated words, misspelt,
 *   random letters) so that reward models learn the grammar as well as the sentiment. The gold-better one is
 *   `chosen`, except with probability `labelNoise` when the label is flipped.
 *
 * - Any tokenizer: the task is text. By default the character tokenizer with the bench-S budgets below; with another
 *   tokenizer (`new SentimentTask(options, tokenizer)`), the limits are its token counts of the longest prompt and of
 *   the longest well-formed completion. Prompts, examples, pairs and rewards do not depend on the tokenizer.
 *
 * @example
 * const task = new SentimentTask({ seed: 1 });
 * task.sftExample(0);                                  // { prompt: 'our views are', completion: ' dull!' }
 * task.goldReward('my book is', ' truly great!');     // 1
 * task.preferencePair(0, { labelNoise: 0.1 });
 */
import { z } from 'zod';
import { ConfigError } from '../../runtime/errors.ts';
import type { Rng } from '../rng.ts';
import type { Tokenizer } from '../../data/tokenizers/tokenizer.ts';
import { CharTokenizer } from '../tokenizer.ts';
import { exampleRng, splitTrainEval } from './seeded.ts';
import { ALL_PROMPTS, allWellFormedCompletions, corruptCompletion, DEFAULT_COMPLETION_STYLE, sampleCompletion } from './sentiment-language.ts';
import { bestGoldReward, corpusExpectedGoldReward, sentimentGoldReward, worstGoldReward } from './sentiment-gold.ts';
import type { GoldRewardOptions, PreferencePair, PreferenceTask, RewardReference, SftExample, TaskLimits } from './task.ts';
import { TaskError } from './task-error.ts';
import { parseConfig } from '../config-parse.ts';

/** Options of the sentiment task. */
export const SentimentTaskOptions = z
  .object({
    /** Seed of every split, example and pair. */
    seed: z.number().int().nonnegative().default(0),
    /** Share of the 130 prompts held out for evaluation. */
    evalFraction: z.number().gt(0).lt(1).default(0.2),
    /** Share of preference-pair candidates that are malformed variants of a corpus completion. */
    pairCorruption: z.number().min(0).max(1).default(0.1),
  })
  .strict();
export type SentimentTaskOptions = z.input<typeof SentimentTaskOptions>;

/** Budgets with the character tokenizer (fit bench-S's context of 64). */
const LIMITS: TaskLimits = { promptTokens: 16, completionTokens: 32, sequenceTokens: 48 };
/** Draws before a pair with two equal gold rewards gives up and keeps the tie (practically never reached). */
const MAX_PAIR_DRAWS = 64;

export class SentimentTask<T extends Tokenizer = CharTokenizer> implements PreferenceTask {
  readonly name = 'sentiment';
  readonly seed: number;
  readonly tokenizer: T;
  readonly limits: TaskLimits;
  readonly reward: RewardReference = { min: worstGoldReward, best: bestGoldReward, corpusExpected: corpusExpectedGoldReward };
  private readonly options: z.output<typeof SentimentTaskOptions>;
  private readonly split: { train: string[]; eval: string[] };
  private readonly knownPrompts = new Set(ALL_PROMPTS);

  /** `tokenizer` defaults to the character tokenizer (and the bench-S limits). */
  constructor(options: SentimentTaskOptions = {}, tokenizer?: T) {
    this.options = parseConfig(SentimentTaskOptions, options, 'task');
    this.seed = this.options.seed;
    this.split = splitTrainEval(ALL_PROMPTS, this.seed, this.options.evalFraction);
    this.tokenizer = tokenizer ?? (new CharTokenizer() as Tokenizer as T);
    this.limits = tokenizer ? tokenLimits(tokenizer) : LIMITS;
  }

  sftExample(index: number): SftExample {
    const rng = exampleRng(this.seed, 'sft', index);
    return { prompt: this.pickTrainPrompt(rng), completion: sampleCompletion(rng, DEFAULT_COMPLETION_STYLE) };
  }

  trainPrompt(index: number): string {
    return this.pickTrainPrompt(exampleRng(this.seed, 'prompts', index));
  }

  evalPrompts(count = this.split.eval.length): string[] {
    return this.split.eval.slice(0, count);
  }

  /** Every train prompt, in split order. */
  trainPromptSet(): string[] {
    return [...this.split.train];
  }

  goldReward(prompt: string, completion: string, options: GoldRewardOptions = {}): number {
    if (!this.knownPrompts.has(prompt)) {
      throw new TaskError('TASK_PROMPT_UNKNOWN', `${JSON.stringify(prompt)} is not a prompt of the sentiment task`, {
        path: 'prompt',
      });
    }
    return sentimentGoldReward(completion, options.finished ?? true);
  }

  preferencePair(index: number, options: { labelNoise?: number } = {}): PreferencePair {
    const labelNoise = options.labelNoise ?? 0;
    if (!(labelNoise >= 0 && labelNoise <= 1)) {
      throw new ConfigError([{ path: 'labelNoise', message: `must be a probability in [0, 1], got ${labelNoise}` }]);
    }
    const rng = exampleRng(this.seed, 'pairs', index);
    const prompt = this.pickTrainPrompt(rng);
    // Drawn first and always, so pair i is the same pair at every noise level (only the label may differ).
    const flipDraw = rng.uniform();
    const first = this.pairCandidate(rng);
    let second = this.pairCandidate(rng);
    for (let draw = 1; draw < MAX_PAIR_DRAWS && second.gold === first.gold; draw++) second = this.pairCandidate(rng);
    const [better, worse] = first.gold >= second.gold ? [first, second] : [second, first];
    const labelFlipped = flipDraw < labelNoise;
    const [chosen, rejected] = labelFlipped ? [worse, better] : [better, worse];
    return {
      prompt,
      chosen: chosen.completion,
      rejected: rejected.completion,
      chosenGoldReward: chosen.gold,
      rejectedGoldReward: rejected.gold,
      labelFlipped,
    };
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, ...this.options };
  }

  private pickTrainPrompt(rng: Rng): string {
    return this.split.train[rng.int(this.split.train.length)]!;
  }

  private pairCandidate(rng: Rng): { completion: string; gold: number } {
    let completion = sampleCompletion(rng, DEFAULT_COMPLETION_STYLE);
    if (rng.uniform() < this.options.pairCorruption) {
      // A character budget, whatever the tokenizer: pairs are text and must not depend on it.
      completion = corruptCompletion(rng, completion, LIMITS.completionTokens - 1);
    }
    return { completion, gold: sentimentGoldReward(completion, true) };
  }
}

/** Limits in `tokenizer`'s tokens: the longest prompt with its special tokens; the longest completion plus EOS. */
function tokenLimits(tokenizer: Tokenizer): TaskLimits {
  const promptTokens = Math.max(...ALL_PROMPTS.map((prompt) => tokenizer.encode(prompt, { addSpecialTokens: true }).length));
  const completionTokens = 1 + Math.max(...allWellFormedCompletions().map((completion) => tokenizer.encode(completion, { addSpecialTokens: false }).length));
  return { promptTokens, completionTokens, sequenceTokens: promptTokens + completionTokens };
}
