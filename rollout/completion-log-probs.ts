/**
 * Scoring of right-padded `BOS prompt completion EOS` rows (the SFT, reward-model and DPO layout of
 * `models/tasks/batches.ts`): logits at positions 0..T-2 predict ids 1..T-1, and the completion mask shifted by
 * one selects the completion tokens and their EOS.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalModel } from '../models/causal-model.ts';
import type { TokenBatch } from '../models/gpt.ts';
import { tokenLogProbs } from '../models/kernels/token-log-probs.ts';
import type { SequenceBatch } from '../models/tasks/batches.ts';

/** The model input, targets and target mask of a right-padded batch. */
export interface ShiftedBatch {
  /** (B, T-1) ids[:, :-1] with their attention mask */
  inputs: TokenBatch;
  /** (B, T-1) ids[:, 1:] */
  targets: Int32Array;
  /** (B, T-1) completionMask[:, 1:] as float */
  targetMask: Float32Array;
  /** Real target tokens in the batch (sum of targetMask). */
  targetTokens: number;
}

/**
 * @example
 * const { inputs, targets, targetMask } = shiftBatch(sequenceBatch(task.tokenizer, examples));
 */
export function shiftBatch(batch: SequenceBatch): ShiftedBatch {
  const { batchSize, length } = batch;
  const width = length - 1;
  const tokens = new Int32Array(batchSize * width);
  const attentionMask = new Int32Array(batchSize * width);
  const targets = new Int32Array(batchSize * width);
  const targetMask = new Float32Array(batchSize * width);
  let targetTokens = 0;
  for (let b = 0; b < batchSize; b++) {
    tokens.set(batch.ids.subarray(b * length, b * length + width), b * width);
    attentionMask.set(batch.attentionMask.subarray(b * length, b * length + width), b * width);
    targets.set(batch.ids.subarray(b * length + 1, (b + 1) * length), b * width);
    for (let t = 0; t < width; t++) {
      const counted = batch.completionMask[b * length + t + 1]!;
      targetMask[b * width + t] = counted;
      targetTokens += counted;
    }
  }
  return { inputs: { tokens, batchSize, length: width, attentionMask }, targets, targetMask, targetTokens };
}

/**
 * Sum over each row's completion tokens of log pi(y_t | x, y_<t): the sequence log-likelihood DPO compares.
 * Differentiable. @returns (B)
 *
 * @example
 * const policyChosen = completionLogProbSums(policy, shiftBatch(batch.chosen));
 */
export function completionLogProbSums(model: CausalModel, shifted: ShiftedBatch): tf.Tensor1D {
  const { batchSize, length } = shifted.inputs;
  return tf.tidy(() => {
    /** (B, T-1, V) */
    const logits = model.logits(shifted.inputs);
    const { logProbs: picked } = tokenLogProbs(logits, tf.tensor2d(shifted.targets, [batchSize, length], 'int32'));
    return tf.sum(tf.mul(picked, tf.tensor2d(shifted.targetMask, [batchSize, length])), 1) as tf.Tensor1D;
  });
}
