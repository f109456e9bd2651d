/**
 * A character tokenizer: one token per character of a fixed alphabet, after three special tokens.
 *
 * The benchmark model bench-S has a vocabulary of 64, so the default alphabet is lower-case letters, digits, space
 * and a little punctuation (55 tokens with the specials). Every task in `models/tasks/` writes only characters of
 * this alphabet, so one tokenizer serves all of them and a checkpoint records it with `toJSON()`.
 *
 * Padding: prompts are padded on the LEFT (so the last column is the last prompt token and generation appends to
 * the right of every row at once); training sequences are padded on the RIGHT (so positions start at 0 in every
 * row and the loss mask is a prefix).
 */
import type { Tokenizer } from '../data/tokenizers/tokenizer.ts';
import { padTokenRows } from '../data/tokenizers/token-rows.ts';
import { TokenizerError } from '../data/tokenizers/tokenizer.ts';

/** Padding token id; never predicted, masked out everywhere. */
export const PAD_ID = 0;
/** Beginning-of-sequence token id; every prompt and training sequence starts with it. */
export const BOS_ID = 1;
/** End-of-sequence token id; a completion ends at its first EOS. */
export const EOS_ID = 2;
/** Number of special ids before the first character id. */
export const SPECIAL_TOKEN_COUNT = 3;

/** The default alphabet: space, a-z, 0-9 and 15 punctuation marks (55 ids in all with the specials). */
export const DEFAULT_ALPHABET = ' abcdefghijklmnopqrstuvwxyz0123456789.,!?;:\'"-+*/=()';

export { TokenizerError };

/** Options of `encode`: whether to add the special tokens around the text. */
export interface EncodeOptions {
  /** Prepend BOS (default false). */
  bos?: boolean;
  /** Append EOS (default false). */
  eos?: boolean;
  /** The shared `Tokenizer` interface's name for `bos` (what this tokenizer puts around one sequence); `bos` wins. */
  addSpecialTokens?: boolean;
}

/** Options of the batch encoders. */
export interface BatchOptions extends EncodeOptions {
  /** Pad every row to exactly this many tokens; a longer row is an error. Default: the longest row. */
  length?: number;
}

/** A padded batch of token rows, row-major. */
export interface TokenBatch {
  /** (B, T) token ids; PAD where `attentionMask` is 0. */
  ids: Int32Array;
  /** (B, T) 1 for a real token, 0 for padding. */
  attentionMask: Int32Array;
  /** (B, T) position of each real token within its row (0 for the first real token), 0 on padding. */
  positions: Int32Array;
  /** (B) number of real tokens in each row. */
  lengths: Int32Array;
  /** B */
  batchSize: number;
  /** T */
  length: number;
}

/** The serialised form, stored in checkpoints and run directories. */
export interface TokenizerJson {
  type: 'char';
  version: 1;
  alphabet: string;
  special: { pad: number; bos: number; eos: number };
}

/**
 * Character tokenizer with PAD=0, BOS=1, EOS=2 and one id per alphabet character (id = 3 + index).
 *
 * @example
 * const tokenizer = new CharTokenizer();
 * const ids = tokenizer.encode('the film was', { bos: true });   // [1, 23, 11, 8, 3, ...]
 * tokenizer.decode([...ids, EOS_ID, 5]);                         // 'the film was' (stops at EOS)
 * const prompts = tokenizer.encodeLeftPadded(['12+3=', '7+45='], { bos: true });
 */
export class CharTokenizer implements Tokenizer {
  /** The characters, in id order (id of `alphabet[i]` is `i + 3`). */
  readonly alphabet: string;
  /** Specials + alphabet. */
  readonly vocabSize: number;
  /** `PAD_ID`, under the shared `Tokenizer` interface's name. */
  readonly padTokenId = PAD_ID;
  /** `BOS_ID`, under the shared `Tokenizer` interface's name. */
  readonly bosTokenId = BOS_ID;
  /** `EOS_ID`, under the shared `Tokenizer` interface's name. */
  readonly eosTokenId = EOS_ID;
  private readonly idOf: Map<string, number>;
  private readonly characters: string[];

  constructor(alphabet: string = DEFAULT_ALPHABET) {
    const characters = Array.from(alphabet);
    const idOf = new Map<string, number>();
    characters.forEach((character, index) => {
      if (idOf.has(character)) {
        throw new TokenizerError('TOKENIZER_ALPHABET_INVALID', `alphabet repeats the character ${quote(character)}`, {
          path: 'alphabet',
        });
      }
      idOf.set(character, index + SPECIAL_TOKEN_COUNT);
    });
    if (characters.length === 0) {
      throw new TokenizerError('TOKENIZER_ALPHABET_INVALID', 'alphabet is empty', { path: 'alphabet' });
    }
    this.alphabet = alphabet;
    this.characters = characters;
    this.idOf = idOf;
    this.vocabSize = characters.length + SPECIAL_TOKEN_COUNT;
  }

  /** Rebuilds a tokenizer from `toJSON()`, refusing a layout of special ids other than this one. */
  static fromJSON(json: unknown): CharTokenizer {
    const value = json as Partial<TokenizerJson> | null;
    if (!value || value.type !== 'char' || typeof value.alphabet !== 'string') {
      throw new TokenizerError('TOKENIZER_JSON_INVALID', 'expected { type: "char", alphabet: string, ... }', {
        path: 'tokenizer',
      });
    }
    const special = value.special;
    if (!special || special.pad !== PAD_ID || special.bos !== BOS_ID || special.eos !== EOS_ID) {
      throw new TokenizerError(
        'TOKENIZER_JSON_INVALID',
        `special ids ${JSON.stringify(special)} differ from this version's { pad: 0, bos: 1, eos: 2 }`,
        { path: 'tokenizer.special' },
      );
    }
    return new CharTokenizer(value.alphabet);
  }

  toJSON(): TokenizerJson {
    return { type: 'char', version: 1, alphabet: this.alphabet, special: { pad: PAD_ID, bos: BOS_ID, eos: EOS_ID } };
  }

  /** Whether every character of `text` is in the alphabet. */
  canEncode(text: string): boolean {
    for (const character of text) if (!this.idOf.has(character)) return false;
    return true;
  }

  /** Token ids of `text`, optionally wrapped in BOS/EOS. Throws `TokenizerError` naming an unknown character. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = (options.bos ?? options.addSpecialTokens) ? [BOS_ID] : [];
    let index = 0;
    for (const character of text) {
      const id = this.idOf.get(character);
      if (id === undefined) {
        const hint = character !== character.toLowerCase() && this.idOf.has(character.toLowerCase()) ? ' (lower-case it)' : '';
        throw new TokenizerError(
          'TOKENIZER_UNKNOWN_CHARACTER',
          `character ${quote(character)} at index ${index} of ${JSON.stringify(text)} is not in the alphabet${hint}; ` +
            `allowed: ${JSON.stringify(this.alphabet)}`,
          { path: `text[${index}]` },
        );
      }
      ids.push(id);
      index++;
    }
    if (options.eos) ids.push(EOS_ID);
    return ids;
  }

  /** Text of `ids`: stops at the first EOS, drops PAD and BOS. Throws on an id outside the vocabulary. */
  decode(ids: ArrayLike<number>): string {
    let text = '';
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index]!;
      if (id === EOS_ID) break;
      if (id === PAD_ID || id === BOS_ID) continue;
      text += this.characterOf(id, index);
    }
    return text;
  }

  /**
   * Reads a generated completion: the text before the first EOS, whether an EOS was produced at all, and whether a
   * PAD or BOS appeared before it (such a token is written as U+FFFD, which no task grammar accepts).
   */
  readCompletion(ids: ArrayLike<number>): { text: string; finished: boolean; clean: boolean } {
    let text = '';
    let clean = true;
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index]!;
      if (id === EOS_ID) return { text, finished: true, clean };
      if (id === PAD_ID || id === BOS_ID) {
        text += '\uFFFD';
        clean = false;
      } else {
        text += this.characterOf(id, index);
      }
    }
    return { text, finished: false, clean };
  }

  /** Prompts for generation: BOS by default, LEFT-padded so every row ends in the last column. */
  encodeLeftPadded(texts: readonly string[], options: BatchOptions = {}): TokenBatch {
    return this.encodeBatch(texts, { bos: true, ...options }, 'left');
  }

  /** Training sequences: BOS and EOS by default, RIGHT-padded so every row starts at position 0. */
  encodeRightPadded(texts: readonly string[], options: BatchOptions = {}): TokenBatch {
    return this.encodeBatch(texts, { bos: true, eos: true, ...options }, 'right');
  }

  /** Pads already-encoded rows (e.g. prompt ids + completion ids) on the given side. */
  padRows(rows: readonly (readonly number[])[], side: 'left' | 'right', length?: number): TokenBatch {
    return padTokenRows(rows, side, PAD_ID, length);
  }

  private encodeBatch(texts: readonly string[], options: BatchOptions, side: 'left' | 'right'): TokenBatch {
    const rows = texts.map((text, rowIndex) => {
      try {
        return this.encode(text, options);
      } catch (error) {
        if (error instanceof TokenizerError) {
          throw new TokenizerError(error.code, `texts[${rowIndex}]: ${error.message}`, {
            path: `texts[${rowIndex}]${error.path?.replace(/^text/, '') ?? ''}`,
          });
        }
        throw error;
      }
    });
    return this.padRows(rows, side, options.length);
  }

  private characterOf(id: number, index: number): string {
    const character = this.characters[id - SPECIAL_TOKEN_COUNT];
    if (!Number.isInteger(id) || character === undefined) {
      throw new TokenizerError(
        'TOKENIZER_UNKNOWN_ID',
        `id ${id} at index ${index} is outside the vocabulary (0..${this.vocabSize - 1})`,
        { path: `ids[${index}]` },
      );
    }
    return character;
  }
}

function quote(character: string): string {
  const code = character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `${JSON.stringify(character)} (U+${code})`;
}
