/**
 * Per-token log-probabilities, values and scores of finished sequences, for scoring rollouts (reference
 * log-probs, old values, reward scores) and inside training losses.
 *
 * Convention (as in the bench peer): for sequences of P prompt slots and N generated slots, the model reads
 * `sequences[:, :-1]` and the action at slot P + t is predicted from position P - 1 + t, so per-token outputs
 * are the positions P - 1 .. P + N - 2: shape (B, N), aligned with the generation's action mask.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalModel } from '../models/causal-model.ts';
import type { TokenBatch } from '../models/gpt.ts';
import { tokenLogProbs } from '../models/kernels/token-log-probs.ts';
import { PosttrainError } from '../runtime/errors.ts';

/** Finished sequences: a generation or any batch laid out as prompt (P slots) then response (N slots). */
export interface SequenceBatch {
  batchSize: number;
  /** P */
  promptLength: number;
  /** N */
  responseLength: number;
  /** (B, P + N) */
  sequences: Int32Array;
  /** (B, P + N) 1 real, 0 padding */
  attentionMask: Int32Array;
}

/**
 * log pi(a_t | s_t) of every action token, differentiable (use inside a loss).
 * @returns (B, N)
 *
 * @example
 * const logProbs = actionLogProbs(policy, batch); // tf.Tensor2D (B, N)
 */
export function actionLogProbs(model: CausalModel, batch: SequenceBatch, temperature = 1): tf.Tensor2D {
  const { batchSize, promptLength, responseLength } = batch;
  const targets = actionTokens(batch);
  return tf.tidy(() => {
    /** (B, N, V) */
    const logits: tf.Tensor3D = model.logits(contextOf(batch), { startPosition: promptLength - 1 });
    return tokenLogProbs(logits, tf.tensor2d(targets, [batchSize, responseLength], 'int32'), { temperature }).logProbs as tf.Tensor2D;
  });
}

/**
 * Value-head outputs V(s_t) for the state before each action.
 * @returns (B, N)
 */
export function actionValues(model: CausalModel, batch: SequenceBatch): tf.Tensor2D {
  return model.values(contextOf(batch), { startPosition: batch.promptLength - 1 });
}

/**
 * Reward-head score of each whole sequence (read at its last real token).
 * @returns (B)
 */
export function sequenceScores(model: CausalModel, batch: SequenceBatch): tf.Tensor1D {
  return model.scores({
    tokens: batch.sequences,
    batchSize: batch.batchSize,
    length: batch.promptLength + batch.responseLength,
    attentionMask: batch.attentionMask,
  });
}

/**
 * No-grad versions that run `chunkSize` rows at a time and return plain arrays (what roles send each other).
 * @returns (B, N) log-probs, (B, N) values, or (B) scores
 *
 * @example
 * const referenceLogProbs = await scoreInChunks(batch, 32, (chunk) => actionLogProbs(reference, chunk));
 */
export async function scoreInChunks(batch: SequenceBatch, chunkSize: number, score: (chunk: SequenceBatch) => tf.Tensor): Promise<Float32Array> {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new PosttrainError('CONFIG_INVALID', `chunkSize must be a positive integer, got ${chunkSize}`, { path: 'chunkSize' });
  }
  const parts: Float32Array[] = [];
  for (let start = 0; start < batch.batchSize; start += chunkSize) {
    const chunk = sliceRows(batch, start, Math.min(batch.batchSize, start + chunkSize));
    const tensor = score(chunk);
    parts.push((await tensor.data()) as Float32Array);
    tensor.dispose();
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Rows [start, end) of a sequence batch (views, no copy). */
export function sliceRows(batch: SequenceBatch, start: number, end: number): SequenceBatch {
  const width = batch.promptLength + batch.responseLength;
  return {
    batchSize: end - start,
    promptLength: batch.promptLength,
    responseLength: batch.responseLength,
    sequences: batch.sequences.subarray(start * width, end * width),
    attentionMask: batch.attentionMask.subarray(start * width, end * width),
  };
}

/** Rows picked by index (copies), e.g. a minibatch. */
export function selectRows(batch: SequenceBatch, rows: readonly number[]): SequenceBatch {
  const width = batch.promptLength + batch.responseLength;
  const sequences = new Int32Array(rows.length * width);
  const attentionMask = new Int32Array(rows.length * width);
  rows.forEach((row, i) => {
    sequences.set(batch.sequences.subarray(row * width, (row + 1) * width), i * width);
    attentionMask.set(batch.attentionMask.subarray(row * width, (row + 1) * width), i * width);
  });
  return { batchSize: rows.length, promptLength: batch.promptLength, responseLength: batch.responseLength, sequences, attentionMask };
}

/** The model input `sequences[:, :-1]` with its mask: (B, P + N - 1). */
function contextOf(batch: SequenceBatch): TokenBatch {
  const { batchSize, promptLength, responseLength } = batch;
  if (promptLength < 1) throw new PosttrainError('INPUT_SHAPE', 'sequences need at least one prompt slot to predict the first action', { path: 'batch.promptLength' });
  const width = promptLength + responseLength;
  const length = width - 1;
  const tokens = new Int32Array(batchSize * length);
  const attentionMask = new Int32Array(batchSize * length);
  for (let b = 0; b < batchSize; b++) {
    tokens.set(batch.sequences.subarray(b * width, b * width + length), b * length);
    attentionMask.set(batch.attentionMask.subarray(b * width, b * width + length), b * length);
  }
  return { tokens, batchSize, length, attentionMask };
}

/** (B, N) the action tokens `sequences[:, P:]`. */
function actionTokens(batch: SequenceBatch): Int32Array {
  const { batchSize, promptLength, responseLength } = batch;
  const width = promptLength + responseLength;
  const targets = new Int32Array(batchSize * responseLength);
  for (let b = 0; b < batchSize; b++) targets.set(batch.sequences.subarray(b * width + promptLength, (b + 1) * width), b * responseLength);
  return targets;
}

/**
 * log pi(a_t | s_t) of every action token and the policy's entropy H(pi(. | s_t)) at each of those states, from
 * one forward pass, differentiable (PPO/GRPO training reports entropy next to the loss).
 * @returns logProbs (B, N) and entropy (B, N)
 *
 * @example
 * const { logProbs, entropy } = actionLogProbsWithEntropy(policy, minibatch);
 */
export function actionLogProbsWithEntropy(model: CausalModel, batch: SequenceBatch): { logProbs: tf.Tensor2D; entropy: tf.Tensor2D } {
  const { batchSize, promptLength, responseLength } = batch;
  const targets = actionTokens(batch);
  return tf.tidy(() => {
    /** (B, N, V) */
    const logits: tf.Tensor3D = model.logits(contextOf(batch), { startPosition: promptLength - 1 });
    const { logProbs, entropy } = tokenLogProbs(logits, tf.tensor2d(targets, [batchSize, responseLength], 'int32'), { entropy: true });
    return { logProbs: logProbs as tf.Tensor2D, entropy: entropy as tf.Tensor2D };
  });
}
