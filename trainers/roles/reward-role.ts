/**
 * The reward model: the SFT trunk with a scalar head read at the last real token. Frozen during PPO (it scores
 * rollouts); trained on preference pairs by the reward-model trainer with the Bradley-Terry loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { rewardModelLoss } from '../../algorithms/index.ts';
import { preferenceBatch, type PreferencePair } from '../../models/tasks/index.ts';
import type { TextPair } from '../dataset-pairs.ts';
import type { SequenceBatch as TaskSequenceBatch } from '../../models/tasks/batches.ts';
import type { ObjectRef } from '../../runtime/index.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';
import { sequenceScores } from '../../rollout/log-probs.ts';
import { rankRows } from './minibatch-plan.ts';
import { TaskRole } from './task-role.ts';

/** What a reward model needs when the task has no preference pairs. */
const REWARD_NEEDS_PAIRS = 'a reward model needs a preference task or a preference dataset (data)';

export class RewardRole extends TaskRole {
  /** (B) reward-model score r(x, y) of each experience row, owned by this role. */
  async scores(experienceRef: ObjectRef<ExperienceBatch>): Promise<ObjectRef<Float32Array>> {
    return this.scoreExperience(experienceRef, (chunk) => sequenceScores(this.model, chunk));
  }

  /**
   * One Bradley-Terry step (Ouyang et al. 2022, Eq. 1) on preference pairs `indices` (the task's), or on `pairs`
   * (a dataset's, one per index) when given: -log sigmoid(r_w - r_l). Accuracy is against the labels the model
   * trains on (the task's possibly noisy ones, or the dataset's).
   */
  async trainPairs(indices: Int32Array, options: { labelNoise: number; margin?: number }, pairs?: TextPair[]): Promise<{ loss: number; accuracy: number; gradNorm: number }> {
    const mine = rankRows(indices, this.init.rank, this.init.worldSize);
    const offset = Math.floor((indices.length * this.init.rank) / this.init.worldSize);
    const minePairs = pairs ? pairs.slice(offset, offset + mine.length) : this.taskPairs(mine, options.labelNoise, REWARD_NEEDS_PAIRS);
    const batch = preferenceBatch(this.task.tokenizer, minePairs);
    const step = await this.trainStep(mine.length / indices.length, () => {
      const chosen = sequenceScores(this.model, asModelBatch(batch.chosen));
      const rejected = sequenceScores(this.model, asModelBatch(batch.rejected));
      const result = rewardModelLoss(chosen, rejected, options.margin === undefined ? {} : { margin: options.margin });
      return { loss: result.loss, metrics: { accuracy: result.accuracy } };
    });
    return { loss: step.loss, accuracy: step.metrics.accuracy ?? 0, gradNorm: step.gradNorm };
  }

  /**
   * Share of pairs `indices` the model orders as the gold reward does (the task's noise-free labels), or of the
   * held-out `pairs` (a dataset's) it scores chosen above rejected; no update. `margin` is the mean score gap.
   */
  async evaluatePairs(indices: Int32Array, heldOut?: TextPair[]): Promise<{ accuracy: number; margin: number }> {
    const pairs = heldOut ?? this.taskPairs(indices, 0, REWARD_NEEDS_PAIRS);
    const batch = preferenceBatch(this.task.tokenizer, pairs);
    const chosen = sequenceScores(this.model, asModelBatch(batch.chosen));
    const rejected = sequenceScores(this.model, asModelBatch(batch.rejected));
    const [chosenScores, rejectedScores] = [(await chosen.data()) as Float32Array, (await rejected.data()) as Float32Array];
    chosen.dispose();
    rejected.dispose();
    let correct = 0;
    let gap = 0;
    pairs.forEach((pair, i) => {
      // A dataset's label is the truth; a task pair is judged against its gold order (labels may be noisy).
      const goldPrefersChosen = heldOut ? true : (pair as PreferencePair).chosenGoldReward > (pair as PreferencePair).rejectedGoldReward;
      if (goldPrefersChosen === chosenScores[i]! > rejectedScores[i]!) correct += 1;
      gap += goldPrefersChosen ? chosenScores[i]! - rejectedScores[i]! : rejectedScores[i]! - chosenScores[i]!;
    });
    return { accuracy: correct / Math.max(pairs.length, 1), margin: gap / Math.max(pairs.length, 1) };
  }
}

/** A right-padded task batch as the sequence-scoring layout (all of it "prompt", score at the last real token). */
function asModelBatch(batch: TaskSequenceBatch): { batchSize: number; promptLength: number; responseLength: number; sequences: Int32Array; attentionMask: Int32Array } {
  return { batchSize: batch.batchSize, promptLength: batch.length, responseLength: 0, sequences: batch.ids, attentionMask: batch.attentionMask };
}
