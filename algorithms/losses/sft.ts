/**
 * Supervised fine-tuning loss: masked token-mean negative log-likelihood of the targets (the language-modelling
 * objective, Radford et al. 2018, Eq. 1, restricted to the tokens the mask selects, e.g. the response).
 *   L = -(1 / sum m) sum_t m_t log softmax(z_t)[y_t]
 *
 * It takes the targets' log-probabilities, as `ppoPolicyLoss` takes the actions', not the logits: the caller
 * computes them with `targetLogProbs` (rollout/log-probs.ts), the fused log-softmax + pick the policy's
 * log-probs take, which never builds a (B, T, V) log-softmax or one-hot tensor; and `algorithms/` stays below
 * `models/` in the import order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFloat, checkRank, checkSameShape } from '../checks.ts';
import { aggregateLoss } from '../reduce.ts';

/**
 * @param targetLogProbs (B, T) log softmax(z_t)[y_t], the targets' log-probabilities, differentiable
 * @param mask (B, T) 1 where the target counts
 * @returns scalar loss
 *
 * @example
 * const loss = sftLoss(targetLogProbs(model.logits(inputs), targets), mask);
 */
export function sftLoss(targetLogProbs: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const name = 'sftLoss';
  checkRank(name, 'targetLogProbs', targetLogProbs, 2, '(batch, tokens)');
  checkSameShape(name, { targetLogProbs, mask });
  checkFloat(name, 'targetLogProbs', targetLogProbs);
  checkFloat(name, 'mask', mask);
  return tf.tidy(() => aggregateLoss(tf.neg(targetLogProbs), mask, 'token-mean'));
}
