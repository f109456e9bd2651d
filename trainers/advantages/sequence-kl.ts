/**
 * The sampled sequences' KL to the reference, as logged and evaluated: the k1 estimate
 * KL(pi_old || pi_ref) ~ sum_t (log pi_old - log pi_ref)(a_t | s_t) over a row's action tokens (Schulman 2020,
 * "Approximating KL divergence"), averaged over rows.
 */
import type { ExperienceBatch } from '../../rollout/experience.ts';

/**
 * @param experience the batch (its `logProbs` and `actionMask`: (B, N))
 * @param referenceLogProbs (B, N) log pi_ref(a_t | s_t)
 * @returns mean over the B rows of each row's summed per-token log ratio
 *
 * @example
 * const kl = meanSequenceKl(experience, experience.referenceLogProbs!);
 */
export function meanSequenceKl(experience: Pick<ExperienceBatch, 'batchSize' | 'logProbs' | 'actionMask'>, referenceLogProbs: Float32Array): number {
  let total = 0;
  for (let i = 0; i < referenceLogProbs.length; i++) total += (experience.logProbs[i]! - referenceLogProbs[i]!) * experience.actionMask[i]!;
  return total / Math.max(experience.batchSize, 1);
}
