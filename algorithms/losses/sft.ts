/**
 * Supervised fine-tuning loss: masked token-mean negative log-likelihood of the targets (the language-modelling
 * objective, Radford et al. 2018, Eq. 1, restricted to the tokens the mask selects, e.g. the response).
 *   L = -(1 / sum m) sum_t m_t log softmax(z_t)[y_t]
 */
import * as tf from '@tensorflow/tfjs-core';
import { AlgorithmInputError, checkFloat, checkRank, checkSameShape } from '../checks.ts';
import { aggregateLoss } from '../reduce.ts';

/**
 * @param logits (B, T, V) next-token logits, differentiable
 * @param targets (B, T) int32 target ids
 * @param mask (B, T) 1 where the target counts
 * @returns scalar loss
 *
 * @example
 * const loss = sftLoss(model.logits(inputs), targets, mask);
 */
export function sftLoss(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const name = 'sftLoss';
  checkRank(name, 'logits', logits, 3, '(batch, tokens, vocab)');
  checkSameShape(name, { targets, mask });
  if (targets.shape[0] !== logits.shape[0] || targets.shape[1] !== logits.shape[1]) {
    throw new AlgorithmInputError(name, 'targets', `targets has shape [${targets.shape}] but logits has shape [${logits.shape}]; expected [${logits.shape.slice(0, 2)}]`);
  }
  if (targets.dtype !== 'int32') throw new AlgorithmInputError(name, 'targets', `targets must be int32 token ids, got ${targets.dtype}`);
  checkFloat(name, 'mask', mask);
  return tf.tidy(() => {
    const negativeLogLikelihood = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, logits.shape[2])), 2));
    return aggregateLoss(negativeLogLikelihood, mask, 'token-mean');
  });
}
