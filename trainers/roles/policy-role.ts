/**
 * The policy: the language model being post-trained. One role, four ways to learn, each a method named for the
 * loss it follows: clipped policy-gradient updates on experience (PPO, GRPO), supervised fine-tuning on
 * demonstrations, and DPO on preference pairs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dpoLoss, klPenalty, maskedMean, ppoPolicyLoss, sftLoss, type DpoLossOptions, type KlEstimator } from '../../algorithms/index.ts';
import { preferenceBatch, sequenceBatch, type SftExample } from '../../models/tasks/index.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import { actorContext, type ObjectRef } from '../../runtime/index.ts';
import { completionLogProbSums, shiftBatch } from '../../rollout/completion-log-probs.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';
import { actionLogProbsWithEntropy } from '../../rollout/log-probs.ts';
import { GROUP_ESTIMATORS, groupRelativeAdvantages, type GroupAdvantageOptions, type GroupAdvantageStats, type GroupEstimatorName } from '../advantages/group-estimators.ts';
import { overMinibatches } from './minibatch-loop.ts';
import { rankRows, type MinibatchPlan } from './minibatch-plan.ts';
import { TaskRole } from './task-role.ts';
import { joinScoredShards, type ScoredShard } from './scored-shards.ts';
import { pairLogProbSums, type PairLogProbs } from './pair-log-probs.ts';
import type { TextPair } from '../dataset-pairs.ts';

/** Options of the clipped policy loss, plus GRPO's KL-in-the-loss term. */
export interface PolicyLossConfig {
  clipLow: number;
  clipHigh: number;
  dualClip?: number;
  /** GRPO (Shao et al. 2024, Eq. 3): beta * KL(pi || pi_ref) added to the loss instead of the reward; 0 = off. */
  klCoef?: number;
  klEstimator?: KlEstimator;
}

/** Means over the plan's minibatches. */
export interface PolicyTrainStats {
  policyLoss: number;
  clipFraction: number;
  approxKl: number;
  entropy: number;
  gradNorm: number;
  /** Mean in-loss KL to the reference (GRPO only). */
  klToReference?: number;
}

/** What DPO needs when the task has no preference pairs. */
const DPO_NEEDS_PAIRS = 'DPO needs a preference task (e.g. sentiment) or a preference dataset (data)';

export class PolicyRole extends TaskRole {
  // ------------------------------------------------------------------------------ PPO / GRPO

  /** Clipped policy-gradient updates over the plan's minibatches (Schulman et al. 2017, Eq. 7). */
  async trainPolicy(batchRef: ObjectRef<ExperienceBatch>, plan: MinibatchPlan, options: PolicyLossConfig): Promise<PolicyTrainStats> {
    const experience = await batchRef.get();
    if (!experience.advantages || (options.klCoef && !experience.referenceLogProbs)) {
      throw new PosttrainError('EXPERIENCE_INCOMPLETE', 'trainPolicy needs experience with advantages (and reference log-probs when klCoef > 0)');
    }
    const names = ['policyLoss', 'clipFraction', 'approxKl', 'entropy', 'klToReference'] as const;
    const means = await overMinibatches(experience, plan, this.init, names, (minibatch, share) => {
      const { batchSize, responseLength } = minibatch;
      return this.trainStep(share, () => {
        const shape: [number, number] = [batchSize, responseLength];
        const mask = tf.tensor2d(minibatch.actionMask, shape);
        const { logProbs, entropy } = actionLogProbsWithEntropy(this.model, minibatch);
        const clipped = ppoPolicyLoss(logProbs, tf.tensor2d(minibatch.logProbs, shape), tf.tensor2d(minibatch.advantages!, shape), mask, options);
        const metrics: Record<string, tf.Tensor> = { clipFraction: clipped.clipFraction, approxKl: clipped.approxKl, entropy: maskedMean(entropy, mask) };
        let loss = clipped.loss;
        if (options.klCoef) {
          const kl = maskedMean(klPenalty(logProbs, tf.tensor2d(minibatch.referenceLogProbs!, shape), options.klEstimator ?? 'k3'), mask) as tf.Scalar;
          metrics.klToReference = kl;
          loss = tf.add(loss, tf.mul(kl, options.klCoef));
        }
        metrics.policyLoss = clipped.loss;
        return { loss, metrics };
      });
    });
    return {
      policyLoss: means.policyLoss,
      clipFraction: means.clipFraction,
      approxKl: means.approxKl,
      entropy: means.entropy,
      gradNorm: means.gradNorm,
      ...(options.klCoef ? { klToReference: means.klToReference } : {}),
    };
  }

  /**
   * Joins GRPO's scored shards and computes critic-free advantages with the named estimator
   * (`groupRelativeAdvantages`). The complete training batch is owned by this role.
   */
  async computeGroupAdvantages(
    shards: ScoredShard[],
    options: GroupAdvantageOptions & { estimator: GroupEstimatorName },
  ): Promise<{ batch: ObjectRef<ExperienceBatch>; stats: GroupAdvantageStats }> {
    const { experience, stats } = groupRelativeAdvantages(await joinScoredShards(shards), GROUP_ESTIMATORS[options.estimator], options);
    return { batch: await actorContext().runtime.put(experience), stats };
  }

  // ------------------------------------------------------------------------------ SFT

  /**
   * One supervised step on SFT examples `indices` (this rank trains its share). Radford et al. 2018, Eq. 1.
   * `examples` (a dataset's, one per index) replace the task's.
   */
  async trainSft(indices: Int32Array, examples?: SftExample[]): Promise<{ loss: number; gradNorm: number }> {
    const example = (index: number, position: number) => examples?.[position] ?? this.task.sftExample(index);
    const all = shiftBatch(sequenceBatch(this.task.tokenizer, Array.from(indices, example)));
    const mine = rankRows(indices, this.init.rank, this.init.worldSize);
    const offset = Math.floor((indices.length * this.init.rank) / this.init.worldSize);
    const shifted = shiftBatch(sequenceBatch(this.task.tokenizer, Array.from(mine, (index, position) => example(index, offset + position)), { length: all.inputs.length + 1 }));
    const share = shifted.targetTokens / Math.max(all.targetTokens, 1);
    const step = await this.trainStep(share, () => this.sftLossOf(shifted));
    return { loss: step.loss, gradNorm: step.gradNorm };
  }

  /** Mean token NLL on SFT examples `indices` (or `examples`, a dataset's), no update (held-out loss). */
  async evaluateSft(indices: Int32Array, examples?: SftExample[]): Promise<{ loss: number; tokens: number }> {
    const shifted = shiftBatch(sequenceBatch(this.task.tokenizer, Array.from(indices, (index, position) => examples?.[position] ?? this.task.sftExample(index))));
    const loss = tf.tidy(() => this.sftLossOf(shifted));
    const value = (await loss.data())[0]!;
    loss.dispose();
    return { loss: value, tokens: shifted.targetTokens };
  }

  // ------------------------------------------------------------------------------ DPO

  /**
   * One DPO step (Rafailov et al. 2023, Eq. 7) on preference pairs `indices` (the task's), or on `pairs` (a
   * dataset's, one per index) when given; `reference` holds the reference model's summed log-probs of the same
   * pairs, in the same order.
   */
  async trainDpo(
    indices: Int32Array,
    reference: ObjectRef<PairLogProbs>,
    options: DpoLossOptions & { labelNoise: number },
    pairs?: TextPair[],
  ): Promise<{ loss: number; accuracy: number; chosenReward: number; rejectedReward: number; gradNorm: number }> {
    const referenceLogProbs = await reference.get();
    const mine = rankRows(indices, this.init.rank, this.init.worldSize);
    const offset = Math.floor((indices.length * this.init.rank) / this.init.worldSize);
    const minePairs = pairs ? pairs.slice(offset, offset + mine.length) : this.taskPairs(mine, options.labelNoise, DPO_NEEDS_PAIRS);
    const batch = preferenceBatch(this.task.tokenizer, minePairs);
    const chosen = shiftBatch(batch.chosen);
    const rejected = shiftBatch(batch.rejected);
    const pick = (values: Float32Array) => tf.tensor1d(values.subarray(offset, offset + mine.length));
    const share = mine.length / indices.length;
    const step = await this.trainStep(share, () => {
      const result = dpoLoss(
        completionLogProbSums(this.model, chosen),
        completionLogProbSums(this.model, rejected),
        pick(referenceLogProbs.chosen),
        pick(referenceLogProbs.rejected),
        options,
      );
      return {
        loss: result.loss,
        metrics: {
          accuracy: tf.mean(tf.cast(tf.greater(result.chosenRewards, result.rejectedRewards), 'float32')),
          chosenReward: tf.mean(result.chosenRewards),
          rejectedReward: tf.mean(result.rejectedRewards),
        },
      };
    });
    return {
      loss: step.loss,
      accuracy: step.metrics.accuracy ?? 0,
      chosenReward: step.metrics.chosenReward ?? 0,
      rejectedReward: step.metrics.rejectedReward ?? 0,
      gradNorm: step.gradNorm,
    };
  }

  /** Summed log-probs of `pairs` under the current policy, no update (DPO's held-out implicit reward). */
  async pairLogProbs(pairs: TextPair[]): Promise<PairLogProbs> {
    return pairLogProbSums(this.model, this.task.tokenizer, pairs);
  }

  private sftLossOf(shifted: ReturnType<typeof shiftBatch>): tf.Scalar {
    const { batchSize, length } = shifted.inputs;
    return sftLoss(
      this.model.logits(shifted.inputs),
      tf.tensor2d(shifted.targets, [batchSize, length], 'int32'),
      tf.tensor2d(shifted.targetMask, [batchSize, length]),
    );
  }
}
