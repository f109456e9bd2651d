/**
 * Rows of token ids for any `Tokenizer`: padding rows into a batch, and reading a generated completion back.
 * For the character tokenizer these give exactly what its own `padRows` and `readCompletion` give (a test pins it);
 * the tasks' batches use these so that they run on a Hugging Face tokenizer too.
 */
import type { TokenBatch } from '../../models/tokenizer.ts';
import { TokenizerError, type Tokenizer } from './tokenizer.ts';

/**
 * Pads rows of ids on one side with `padTokenId`: (B, T) ids, attention mask and positions (0 at a row's first real
 * token, 0 on padding). `length` defaults to the longest row; a longer row is an error.
 *
 * @example
 * padTokenRows([[5, 6], [7]], 'left', 0);   // ids [5, 6, 0, 7], attentionMask [1, 1, 0, 1]
 */
export function padTokenRows(rows: readonly (readonly number[])[], side: 'left' | 'right', padTokenId: number, length?: number): TokenBatch {
  const width = length ?? rows.reduce((most, row) => Math.max(most, row.length), 0);
  if (!Number.isInteger(width) || width < 0) {
    throw new TokenizerError('TOKENIZER_LENGTH_INVALID', `length must be a non-negative integer, got ${width}`, { path: 'length' });
  }
  const batchSize = rows.length;
  const ids = new Int32Array(batchSize * width).fill(padTokenId);
  const attentionMask = new Int32Array(batchSize * width);
  const positions = new Int32Array(batchSize * width);
  const lengths = new Int32Array(batchSize);
  rows.forEach((row, rowIndex) => {
    if (row.length > width) {
      throw new TokenizerError('TOKENIZER_ROW_TOO_LONG', `row ${rowIndex} has ${row.length} tokens, more than the batch length ${width}`, {
        path: `rows[${rowIndex}]`,
      });
    }
    const start = rowIndex * width + (side === 'left' ? width - row.length : 0);
    row.forEach((id, position) => {
      ids[start + position] = id;
      attentionMask[start + position] = 1;
      positions[start + position] = position;
    });
    lengths[rowIndex] = row.length;
  });
  return { ids, attentionMask, positions, lengths, batchSize, length: width };
}

/**
 * A generated completion: its text before the first EOS, whether an EOS came at all, and whether a PAD or BOS
 * appeared before it. Such a token is written as U+FFFD, which no task grammar accepts, so the completion is scored
 * as malformed; the pieces between them are decoded on their own.
 *
 * @example
 * readCompletion(tokenizer, [...tokenizer.encode(' great.', { addSpecialTokens: false }), tokenizer.eosTokenId]);
 * // { text: ' great.', finished: true, clean: true }
 */
export function readCompletion(tokenizer: Tokenizer, ids: ArrayLike<number>): { text: string; finished: boolean; clean: boolean } {
  const pieces: string[] = [];
  let piece: number[] = [];
  let finished = false;
  for (let index = 0; index < ids.length; index++) {
    const id = ids[index]!;
    if (id === tokenizer.eosTokenId) {
      finished = true;
      break;
    }
    if (id === tokenizer.padTokenId || id === tokenizer.bosTokenId) {
      pieces.push(tokenizer.decode(piece, { skipSpecialTokens: false }));
      piece = [];
    } else {
      piece.push(id);
    }
  }
  pieces.push(tokenizer.decode(piece, { skipSpecialTokens: false }));
  return { text: pieces.join('\uFFFD'), finished, clean: pieces.length === 1 };
}
