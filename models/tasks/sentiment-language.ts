/**
 * The small synthetic language of the sentiment task: one-sentence reviews such as
 * `this hotel was very lovely and fun!` or `our fries were bland.`
 *
 *   sentence   := prompt completion
 *   prompt     := determiner " " noun " " verb          ("the film was", "our fries were"; agreement holds)
 *   completion := " " phrase [" and " phrase] end       (the part the model writes)
 *   phrase     := [adverb " "] adjective
 *   end        := "." | "!"
 *
 * Adjectives carry the sentiment (five levels from -1 to +1, three words each, so the lexicon is symmetric);
 * adverbs and the end mark are sentiment-neutral decoration. No word is a prefix of another word that can stand in
 * the same place, so a left-to-right parser never has to back-track.
 *
 * Sizes: the longest prompt is 14 characters (15 tokens with BOS) and the longest completion 31 characters
 * (32 tokens with EOS), so a whole sequence fits in 48 tokens: the bench-S PPO shapes (16 + 32) exactly.
 */
import type { Rng } from '../rng.ts';

/** Sentiment of each adjective, in [-1, 1]. */
export const ADJECTIVE_SENTIMENT: Readonly<Record<string, number>> = {
  great: 1,
  superb: 1,
  lovely: 1,
  good: 0.5,
  nice: 0.5,
  fun: 0.5,
  okay: 0,
  plain: 0,
  usual: 0,
  dull: -0.5,
  slow: -0.5,
  bland: -0.5,
  awful: -1,
  bad: -1,
  gross: -1,
};

export const ADJECTIVES: readonly string[] = Object.keys(ADJECTIVE_SENTIMENT);
export const ADVERBS: readonly string[] = ['very', 'so', 'quite', 'truly'];
export const END_MARKS: readonly string[] = ['.', '!'];

const SINGULAR_DETERMINERS = ['the', 'this', 'that', 'my', 'our'];
const SINGULAR_NOUNS = ['film', 'book', 'song', 'meal', 'hotel', 'room', 'show', 'game', 'cake', 'tour'];
const PLURAL_DETERMINERS = ['the', 'my', 'our'];
const PLURAL_NOUNS = ['fries', 'shoes', 'seats', 'beds', 'views'];

/** Every prompt of the language, in a fixed order (130 of them). */
export const ALL_PROMPTS: readonly string[] = [
  ...SINGULAR_DETERMINERS.flatMap((determiner) =>
    SINGULAR_NOUNS.flatMap((noun) => ['was', 'is'].map((verb) => `${determiner} ${noun} ${verb}`)),
  ),
  ...PLURAL_DETERMINERS.flatMap((determiner) =>
    PLURAL_NOUNS.flatMap((noun) => ['were', 'are'].map((verb) => `${determiner} ${noun} ${verb}`)),
  ),
];

/** How the corpus samples a completion; the defaults make the corpus' expected gold reward exactly 0. */
export interface CompletionStyle {
  /** Probability of a second phrase joined by " and " (default 0.5). */
  secondPhrase: number;
  /** Probability that a phrase has an adverb (default 0.3). */
  adverb: number;
  /** Probability that the sentence ends with "!" rather than "." (default 0.3). */
  exclamation: number;
}

export const DEFAULT_COMPLETION_STYLE: CompletionStyle = { secondPhrase: 0.5, adverb: 0.3, exclamation: 0.3 };

/**
 * A well-formed completion with adjectives drawn uniformly (and distinct), i.e. of mixed sentiment: the corpus the
 * SFT model imitates.
 *
 * @example
 * sampleCompletion(new Rng(1)); // ' usual.'
 */
export function sampleCompletion(rng: Rng, style: CompletionStyle = DEFAULT_COMPLETION_STYLE): string {
  const first = ADJECTIVES[rng.int(ADJECTIVES.length)]!;
  let text = ` ${phrase(rng, first, style)}`;
  if (rng.uniform() < style.secondPhrase) {
    let second = ADJECTIVES[rng.int(ADJECTIVES.length - 1)]!;
    if (second === first) second = ADJECTIVES[ADJECTIVES.length - 1]!;
    text += ` and ${phrase(rng, second, style)}`;
  }
  return text + (rng.uniform() < style.exclamation ? '!' : '.');
}

/**
 * Every well-formed completion `sampleCompletion` can write (10,650 of them): one or two phrases of an optional
 * adverb and an adjective (two different adjectives), then "." or "!". Used to count a tokenizer's longest one.
 */
export function allWellFormedCompletions(): string[] {
  const phrases = (adjective: string) => [adjective, ...ADVERBS.map((adverb) => `${adverb} ${adjective}`)];
  const bodies: string[] = [];
  for (const first of ADJECTIVES) {
    for (const firstPhrase of phrases(first)) {
      bodies.push(` ${firstPhrase}`);
      for (const second of ADJECTIVES) {
        if (second === first) continue;
        for (const secondPhrase of phrases(second)) bodies.push(` ${firstPhrase} and ${secondPhrase}`);
      }
    }
  }
  return bodies.flatMap((body) => END_MARKS.map((mark) => body + mark));
}

/**
 * A malformed variant of a well-formed completion, the kind of output a policy drifts into when it exploits a
 * reward model: a truncation, a word repeated over and over, a misspelt adjective, a missing end mark, or a run of
 * random letters. Preference pairs include some so that reward models learn that such text is bad.
 */
export function corruptCompletion(rng: Rng, completion: string, maxCharacters: number): string {
  const words = completion.trim().replace(/[.!]$/, '').split(' ');
  const adjective = words.find((word) => word in ADJECTIVE_SENTIMENT) ?? 'great';
  let corrupted: string;
  switch (rng.int(5)) {
    case 0: // truncated mid-sentence
      corrupted = completion.slice(0, 1 + rng.int(completion.length - 2));
      break;
    case 1: // one (often positive) word repeated: the classic degenerate output
      corrupted = ` ${Array.from({ length: 3 + rng.int(5) }, () => adjective).join(' ')}${rng.uniform() < 0.5 ? '.' : ''}`;
      break;
    case 2: // misspelt adjective
      corrupted = completion.replace(adjective, misspell(rng, adjective));
      break;
    case 3: // no end mark, or a doubled one
      corrupted = rng.uniform() < 0.5 ? completion.slice(0, -1) : `${completion}${completion.slice(-1)}`;
      break;
    default: // random letters and spaces
      corrupted = ` ${Array.from({ length: 4 + rng.int(16) }, () => ' abcdefghijklmnopqrstuvwxyz'[rng.int(27)]).join('')}`;
  }
  return corrupted.slice(0, maxCharacters);
}

function phrase(rng: Rng, adjective: string, style: CompletionStyle): string {
  return rng.uniform() < style.adverb ? `${ADVERBS[rng.int(ADVERBS.length)]} ${adjective}` : adjective;
}

function misspell(rng: Rng, word: string): string {
  const position = rng.int(word.length);
  const letters = 'abcdefghijklmnopqrstuvwxyz'.replace(word[position]!, '');
  return word.slice(0, position) + letters[rng.int(letters.length)] + word.slice(position + 1);
}
