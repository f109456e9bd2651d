import { describe, expect, it } from 'vitest';
import { BOS_ID, CharTokenizer, DEFAULT_ALPHABET, EOS_ID, PAD_ID, TokenizerError } from '../../models/tokenizer.ts';
import { thrownBy } from '../expect-error.ts';

const tokenizer = new CharTokenizer();

const thrown = (action: () => unknown) => thrownBy(action, TokenizerError);

describe('CharTokenizer', () => {
  it('fits the bench-S vocabulary of 64 with PAD=0, BOS=1, EOS=2 before the characters', () => {
    expect([PAD_ID, BOS_ID, EOS_ID]).toEqual([0, 1, 2]);
    expect(tokenizer.vocabSize).toBe(DEFAULT_ALPHABET.length + 3);
    expect(tokenizer.vocabSize).toBeLessThanOrEqual(64);
    expect(tokenizer.encode(' a')).toEqual([3, 4]);
  });

  it('round-trips every character of the alphabet and wraps BOS/EOS on request', () => {
    const ids = tokenizer.encode(DEFAULT_ALPHABET, { bos: true, eos: true });
    expect(ids[0]).toBe(BOS_ID);
    expect(ids.at(-1)).toBe(EOS_ID);
    expect(new Set(ids).size).toBe(tokenizer.vocabSize - 1);
    expect(tokenizer.decode(ids)).toBe(DEFAULT_ALPHABET);
  });

  it('decode stops at the first EOS and drops PAD and BOS', () => {
    const ids = [PAD_ID, PAD_ID, BOS_ID, ...tokenizer.encode('ab'), EOS_ID, ...tokenizer.encode('cd')];
    expect(tokenizer.decode(ids)).toBe('ab');
  });

  it('an unknown character is an error naming it, its index and the allowed alphabet', () => {
    const error = thrown(() => tokenizer.encode('the Film'));
    expect(error.code).toBe('TOKENIZER_UNKNOWN_CHARACTER');
    expect(error.path).toBe('text[4]');
    expect(error.message).toContain('"F" (U+0046) at index 4');
    expect(error.message).toContain('lower-case it');
    expect(error.message).toContain(JSON.stringify(DEFAULT_ALPHABET));
    expect(thrown(() => tokenizer.encodeLeftPadded(['ok', 'caf\u00e9'])).path).toBe('texts[1][3]');
  });

  it('an id outside the vocabulary is an error naming it', () => {
    const error = thrown(() => tokenizer.decode([5, 99]));
    expect(error.code).toBe('TOKENIZER_UNKNOWN_ID');
    expect(error.message).toContain('id 99 at index 1');
  });

  it('left-pads prompts: the last column holds every row\'s last token; mask and positions follow', () => {
    const batch = tokenizer.encodeLeftPadded(['ab', 'c']);
    const [a, b, c] = tokenizer.encode('abc');
    expect(batch.batchSize).toBe(2);
    expect(batch.length).toBe(3);
    expect(Array.from(batch.ids)).toEqual([BOS_ID, a, b, PAD_ID, BOS_ID, c]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 0, 1, 1]);
    expect(Array.from(batch.positions)).toEqual([0, 1, 2, 0, 0, 1]);
    expect(Array.from(batch.lengths)).toEqual([3, 2]);
  });

  it('right-pads training sequences with BOS and EOS, to a fixed length when asked', () => {
    const batch = tokenizer.encodeRightPadded(['ab', 'c'], { length: 5 });
    const [a, b, c] = tokenizer.encode('abc');
    expect(Array.from(batch.ids)).toEqual([BOS_ID, a, b, EOS_ID, PAD_ID, BOS_ID, c, EOS_ID, PAD_ID, PAD_ID]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 0, 0]);
    expect(Array.from(batch.positions)).toEqual([0, 1, 2, 3, 0, 0, 1, 2, 0, 0]);
  });

  it('a row longer than the requested length is an error naming the row', () => {
    const error = thrown(() => tokenizer.encodeRightPadded(['a', 'abcdef'], { length: 4 }));
    expect(error.code).toBe('TOKENIZER_ROW_TOO_LONG');
    expect(error.path).toBe('rows[1]');
    expect(error.message).toContain('row 1 has 8 tokens');
  });

  it('reads a generated completion: text before EOS, whether EOS came, whether specials intruded', () => {
    const [x, y] = tokenizer.encode('xy');
    expect(tokenizer.readCompletion([x!, y!, EOS_ID, PAD_ID])).toEqual({ text: 'xy', finished: true, clean: true });
    expect(tokenizer.readCompletion([x!, y!])).toEqual({ text: 'xy', finished: false, clean: true });
    expect(tokenizer.readCompletion([x!, BOS_ID, EOS_ID])).toEqual({ text: 'x\uFFFD', finished: true, clean: false });
  });

  it('serialises to JSON and back, and refuses foreign special-id layouts and bad alphabets', () => {
    const json = JSON.parse(JSON.stringify(new CharTokenizer('abc')));
    expect(json).toEqual({ type: 'char', version: 1, alphabet: 'abc', special: { pad: 0, bos: 1, eos: 2 } });
    const restored = CharTokenizer.fromJSON(json);
    expect(restored.vocabSize).toBe(6);
    expect(restored.encode('cab')).toEqual([5, 3, 4]);
    expect(thrown(() => CharTokenizer.fromJSON({ ...json, special: { pad: 1, bos: 0, eos: 2 } })).path).toBe('tokenizer.special');
    expect(thrown(() => CharTokenizer.fromJSON({ type: 'bpe' })).code).toBe('TOKENIZER_JSON_INVALID');
    expect(thrown(() => new CharTokenizer('abca')).message).toContain('repeats the character "a"');
  });
});
