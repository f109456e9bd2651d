/**
 * Summed log-probs of the chosen and rejected completions of preference pairs under a model: what DPO's loss and
 * its held-out implicit reward read (Rafailov et al. 2023, Eq. 7), for the reference and the policy alike.
 */
import type { Tokenizer } from '../../data/tokenizers/tokenizer.ts';
import type { CausalModel } from '../../models/causal-model.ts';
import { preferenceBatch } from '../../models/tasks/index.ts';
import { completionLogProbSums, shiftBatch } from '../../rollout/completion-log-probs.ts';
import type { TextPair } from '../dataset-pairs.ts';

/** Per-pair summed log-probs of a batch of preference pairs. */
export interface PairLogProbs {
  /** (B) sum of log pi over each chosen completion's tokens (and its EOS) */
  chosen: Float32Array;
  /** (B) same for the rejected completions */
  rejected: Float32Array;
}

/**
 * @example
 * const { chosen, rejected } = await pairLogProbSums(model, tokenizer, [{ prompt: 'Hi', chosen: ' there.', rejected: ' you' }]);
 */
export async function pairLogProbSums(model: CausalModel, tokenizer: Tokenizer, pairs: readonly TextPair[]): Promise<PairLogProbs> {
  const batch = preferenceBatch(tokenizer, pairs);
  const chosen = completionLogProbSums(model, shiftBatch(batch.chosen));
  const rejected = completionLogProbSums(model, shiftBatch(batch.rejected));
  const result = { chosen: (await chosen.data()) as Float32Array, rejected: (await rejected.data()) as Float32Array };
  chosen.dispose();
  rejected.dispose();
  return result;
}
