/**
 * The reference policy: a frozen copy of the policy's starting point (the SFT model). It scores what the policy
 * generated so the KL penalty can keep the policy near it, and scores preference pairs for DPO.
 */
import { actorContext, type ObjectRef } from '../../runtime/index.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';
import { actionLogProbs, scoreInChunks } from '../../rollout/log-probs.ts';
import { meanSequenceKl } from '../advantages/sequence-kl.ts';
import { TaskRole } from './task-role.ts';
import type { TextPair } from '../dataset-pairs.ts';
import { pairLogProbSums, type PairLogProbs } from './pair-log-probs.ts';
import { SCORING_CHUNK } from './scored-shards.ts';

export class ReferenceRole extends TaskRole {
  /** (B, N) log pi_ref(a_t | s_t) of the experience's actions, owned by this role. */
  async logProbs(experienceRef: ObjectRef<ExperienceBatch>): Promise<ObjectRef<Float32Array>> {
    return this.scoreExperience(experienceRef, (chunk) => actionLogProbs(this.model, chunk));
  }

  /** Mean over rows of sum_t (log pi_old - log pi_ref)(a_t | s_t): the sampled sequences' KL to the reference. */
  async sequenceKl(experienceRef: ObjectRef<ExperienceBatch>): Promise<number> {
    const experience = await experienceRef.get();
    return meanSequenceKl(experience, await scoreInChunks(experience, SCORING_CHUNK, (chunk) => actionLogProbs(this.model, chunk)));
  }

  /**
   * Summed log-probs of preference pairs, owned by this role: the task's pairs `indices` (labelled with
   * `labelNoise`), or `pairs` (a dataset's, in the same order as `indices`) when given.
   */
  async pairLogProbs(indices: Int32Array, labelNoise: number, pairs?: TextPair[]): Promise<ObjectRef<PairLogProbs>> {
    return actorContext().runtime.put(await pairLogProbSums(this.model, this.task.tokenizer, pairs ?? this.taskPairs(indices, labelNoise)));
  }
}
