/**
 * What every `Tokenizer` (data/tokenizers/tokenizer.ts) must do for tasks and rollouts, run by each implementation:
 * text round-trips, ids stay below `vocabSize`, the special ids are ids, and a completion read up to its EOS gives
 * back its text.
 */
import { describe, expect, it } from 'vitest';
import type { Tokenizer } from '../../../data/tokenizers/tokenizer.ts';

/**
 * @param name the implementation, for test names
 * @param build builds the tokenizer (called once)
 * @param texts strings the tokenizer can encode (the character tokenizer accepts only its alphabet)
 */
export function tokenizerConformance(name: string, build: () => Promise<Tokenizer> | Tokenizer, texts: readonly string[]): void {
  let built: Promise<Tokenizer> | undefined;
  const load = () => (built ??= Promise.resolve(build()));
  describe(`${name} satisfies the Tokenizer contract`, () => {
    it('round-trips text without special tokens, with every id in [0, vocabSize)', async () => {
      const tokenizer = await load();
      for (const text of texts) {
        const ids = tokenizer.encode(text, { addSpecialTokens: false });
        expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize)).toBe(true);
        expect(tokenizer.decode(ids)).toBe(text);
      }
    });

    it('has eos, pad and bos (when set) ids inside the vocabulary, eos distinct from text ids', async () => {
      const tokenizer = await load();
      for (const id of [tokenizer.eosTokenId, tokenizer.padTokenId, tokenizer.bosTokenId ?? 0]) {
        expect(id >= 0 && id < tokenizer.vocabSize).toBe(true);
      }
      for (const text of texts) expect(tokenizer.encode(text, { addSpecialTokens: false })).not.toContain(tokenizer.eosTokenId);
    });

    it('addSpecialTokens adds at most the bos in front, never changes the text ids', async () => {
      const tokenizer = await load();
      for (const text of texts) {
        const plain = tokenizer.encode(text, { addSpecialTokens: false });
        const wrapped = tokenizer.encode(text, { addSpecialTokens: true });
        expect(wrapped.slice(wrapped.length - plain.length)).toEqual(plain);
        expect(wrapped.length - plain.length).toBe(wrapped.length > plain.length ? 1 : 0);
        if (wrapped.length > plain.length) expect(wrapped[0]).toBe(tokenizer.bosTokenId);
      }
    });

    it('decodes a finished completion (text ids, EOS) to its text when special tokens are skipped', async () => {
      const tokenizer = await load();
      for (const text of texts) {
        const ids = [...tokenizer.encode(text, { addSpecialTokens: false }), tokenizer.eosTokenId];
        expect(tokenizer.decode(Int32Array.from(ids), { skipSpecialTokens: true })).toBe(text);
      }
    });
  });
}
