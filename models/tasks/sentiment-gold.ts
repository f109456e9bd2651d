/**
 * The gold reward of the sentiment task: a fixed scorer, independent of any learned model, that prefers positive
 * AND well-formed completions (Ziegler et al. 2019, "Fine-Tuning Language Models from Human Preferences", the
 * positive-continuation task; Rafailov et al. 2023, DPO, Fig. 2 controlled sentiment generation; here the
 * sentiment classifier is replaced by an exact grammar and lexicon so the "human" is known).
 *
 * Range [-1.5, 1]:
 * - well-formed completion (parses as `sentiment-language.ts` says, distinct adjectives, ends with "." or "!" and
 *   then EOS): the mean sentiment of its adjectives, in [-1, 1]. Best reachable: 1, e.g. ` great.` or
 *   ` truly superb and lovely!`. The SFT corpus draws adjectives uniformly from a symmetric lexicon, so its
 *   expected gold reward is exactly 0: an SFT model sits in the middle, one unit below the best.
 * - malformed completion: -1.5 + 0.45 * (share of its characters accepted before the first error), in
 *   [-1.5, -1.05]. Always below every well-formed completion, so no malformed text (a positive word repeated
 *   forever, a sentence that never ends, a misspelling) can beat even the most negative sentence, yet the partial
 *   credit keeps the signal dense for a policy that starts far from the grammar.
 *
 * Why this is learnable but not hackable: the reward of well-formed text depends only on which adjectives the model
 * picks (a few decisions per sample, graded in five levels, so improvements are gradual); repetition, length and
 * end-of-sequence games all fall into the malformed band.
 */

import { ADJECTIVE_SENTIMENT, ADVERBS, END_MARKS } from './sentiment-language.ts';

/** Highest reachable gold reward: a well-formed completion whose adjectives are all +1. */
export const bestGoldReward = 1;
/** Lowest possible gold reward: a malformed completion with no accepted character. */
export const worstGoldReward = -1.5;
/** Expected gold reward of the SFT corpus distribution (exact: the lexicon is symmetric and sampled uniformly). */
export const corpusExpectedGoldReward = 0;

const MALFORMED_BASE = -1.5;
const MALFORMED_PARTIAL_CREDIT = 0.45;

/** What the parser made of a completion. */
export interface SentimentParse {
  wellFormed: boolean;
  /** Adjectives in order (those accepted before any error). */
  adjectives: string[];
  /** Characters of the completion accepted before the first error (all of them when well-formed). */
  accepted: number;
  /** Why the completion is malformed, or undefined when it is well-formed. */
  error?: string;
}

/**
 * Parses a completion (the text after the prompt, before EOS) left to right.
 *
 * @example
 * parseSentimentCompletion(' very good and fun!', true).wellFormed;  // true
 * parseSentimentCompletion(' good good good', true).error;           // 'expected " and " or an end mark at 5'
 */
export function parseSentimentCompletion(completion: string, finished: boolean): SentimentParse {
  const cursor = new Cursor(completion);
  const adjectives: string[] = [];
  const fail = (error: string): SentimentParse => ({ wellFormed: false, adjectives, accepted: cursor.accepted, error });

  if (!cursor.literal(' ')) return fail('expected a space after the prompt');
  for (let phraseIndex = 0; phraseIndex < 2; phraseIndex++) {
    if (cursor.word(ADVERBS) !== undefined && !cursor.literal(' ')) return fail(`expected a space after the adverb at ${cursor.position}`);
    const start = cursor.position;
    const adjective = cursor.word(Object.keys(ADJECTIVE_SENTIMENT));
    if (adjective === undefined) return fail(`expected an adjective at ${cursor.position}`);
    if (adjectives.includes(adjective)) {
      cursor.rewindTo(start);
      return fail(`adjective "${adjective}" repeated at ${start}`);
    }
    adjectives.push(adjective);
    if (phraseIndex === 0 && !cursor.literal(' and ')) break;
  }
  if (cursor.word(END_MARKS) === undefined) return fail(`expected " and " or an end mark at ${cursor.position}`);
  if (!cursor.atEnd()) return fail(`unexpected text after the end mark at ${cursor.position}`);
  if (!finished) return fail('the completion never produced EOS');
  return { wellFormed: true, adjectives, accepted: cursor.accepted };
}

/**
 * Gold reward of a completion: mean adjective sentiment when well-formed, the malformed band otherwise
 * (see the module doc for the range).
 *
 * @example
 * sentimentGoldReward(' great and lovely!', true);  // 1
 * sentimentGoldReward(' okay.', true);              // 0
 * sentimentGoldReward(' great great great', true);  // -1.5 + 0.45 * 7/18 = -1.325
 */
export function sentimentGoldReward(completion: string, finished: boolean): number {
  const parse = parseSentimentCompletion(completion, finished);
  if (parse.wellFormed) {
    const total = parse.adjectives.reduce((sum, adjective) => sum + ADJECTIVE_SENTIMENT[adjective]!, 0);
    return total / parse.adjectives.length;
  }
  return MALFORMED_BASE + MALFORMED_PARTIAL_CREDIT * (parse.accepted / Math.max(completion.length, 1));
}

/**
 * A left-to-right matcher that remembers how far the text agreed with the grammar: a failed literal still counts
 * the characters it matched, so `accepted` measures how close malformed text came to a sentence.
 */
class Cursor {
  position = 0;
  accepted = 0;

  constructor(private readonly text: string) {}

  literal(expected: string): boolean {
    if (this.text.startsWith(expected, this.position)) {
      this.advance(expected.length);
      return true;
    }
    this.notePartial(expected);
    return false;
  }

  word(candidates: readonly string[]): string | undefined {
    const match = candidates.find((candidate) => this.text.startsWith(candidate, this.position));
    if (match !== undefined) {
      this.advance(match.length);
      return match;
    }
    for (const candidate of candidates) this.notePartial(candidate);
    return undefined;
  }

  rewindTo(position: number): void {
    this.position = position;
    this.accepted = position;
  }

  atEnd(): boolean {
    return this.position === this.text.length;
  }

  private advance(count: number): void {
    this.position += count;
    this.accepted = Math.max(this.accepted, this.position);
  }

  private notePartial(expected: string): void {
    let matched = 0;
    while (matched < expected.length && this.text[this.position + matched] === expected[matched]) matched++;
    this.accepted = Math.max(this.accepted, this.position + matched);
  }
}
