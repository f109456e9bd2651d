/**
 * The reference policy: a frozen copy of the policy's starting point (the SFT model). It scores what the policy
 * generated so the KL penalty can keep the policy near it, and scores preference pairs for DPO.
 */
import { tokenizerOf } from '../../models/model-spec.ts';
import { createTask, isPreferenceTask, type Task, type TaskConfig } from '../../models/tasks/index.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import { actorContext, type ObjectRef } from '../../runtime/index.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';
import { actionLogProbs, scoreInChunks } from '../../rollout/log-probs.ts';
import { meanSequenceKl } from '../advantages/sequence-kl.ts';
import { ModelRole, type ModelRoleInit } from './model-role.ts';
import type { TextPair } from '../dataset-pairs.ts';
import { pairLogProbSums, type PairLogProbs } from './pair-log-probs.ts';
import { SCORING_CHUNK } from './scored-shards.ts';

export class ReferenceRole extends ModelRole {
  private readonly task: Task;

  constructor(init: ModelRoleInit & { task: TaskConfig }) {
    super(init);
    this.task = createTask(init.task, tokenizerOf(init.model));
  }

  /** (B, N) log pi_ref(a_t | s_t) of the experience's actions, owned by this role. */
  async logProbs(experienceRef: ObjectRef<ExperienceBatch>): Promise<ObjectRef<Float32Array>> {
    const experience = await experienceRef.get();
    const values = await scoreInChunks(experience, SCORING_CHUNK, (chunk) => actionLogProbs(this.model, chunk));
    return actorContext().runtime.put(values);
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

  private taskPairs(indices: Int32Array, labelNoise: number): TextPair[] {
    if (!isPreferenceTask(this.task)) {
      throw new PosttrainError('TASK_NOT_PREFERENCE', `task ${this.task.name} has no preference pairs`, { path: 'task.name' });
    }
    const task = this.task;
    return Array.from(indices, (index) => task.preferencePair(index, { labelNoise }));
  }
}
