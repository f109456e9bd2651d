/**
 * The value model (critic): a scalar per token estimating the return from each state. It scores rollouts, turns
 * scored experience into advantages (it holds the old values GAE needs, so the driver never touches tensors), and
 * is regressed towards the returns with a clipped value loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gae, klShapedRewards, valueLoss, whiten, type KlEstimator } from '../../algorithms/index.ts';
import { actorContext, type ObjectRef } from '../../runtime/index.ts';
import { concatExperience } from '../../rollout/concat-experience.ts';
import { selectExperienceRows, type ExperienceBatch } from '../../rollout/experience.ts';
import { actionValues, scoreInChunks } from '../../rollout/log-probs.ts';
import { minibatches, rankRows, type MinibatchPlan } from './minibatch-plan.ts';
import { ModelRole, yieldToEventLoop } from './model-role.ts';
import { tokensOf } from './policy-role.ts';

const SCORING_CHUNK = 64;

/** Scored shards of one iteration's experience: rollout worker i's shard with its scores from each role. */
export interface ScoredShard {
  experience: ObjectRef<ExperienceBatch>;
  referenceLogProbs: ObjectRef<Float32Array>;
  scores: ObjectRef<Float32Array>;
  values: ObjectRef<Float32Array>;
}

export interface AdvantageOptions {
  /** KL coefficient beta in r_t = -beta * KL_t (+ score at the end). */
  klCoef: number;
  klEstimator: KlEstimator;
  gamma: number;
  lambda: number;
  /** Whiten advantages over the batch (mean 0, std 1). */
  whitenAdvantages: boolean;
}

/** Batch means the driver logs. */
export interface AdvantageStats {
  /** Mean over rows of the summed per-token KL to the reference: the sequence-level KL of the sample. */
  kl: number;
  /** Mean reward-model score. */
  modelReward: number;
  /** Mean of the (unwhitened) returns at the first action. */
  meanReturn: number;
  /** Mean old value at the first action. */
  meanValue: number;
  /** The policy weights the experience was generated with, as recorded in the experience itself. */
  weightVersion: number;
  weightChecksum: string;
}

export class ValueRole extends ModelRole {
  /** (B, N) V_old(s_t) of the experience's states, owned by this role. */
  async values(experienceRef: ObjectRef<ExperienceBatch>): Promise<ObjectRef<Float32Array>> {
    const experience = await experienceRef.get();
    const values = await scoreInChunks(experience, SCORING_CHUNK, (chunk) => actionValues(this.model, chunk));
    return actorContext().runtime.put(values);
  }

  /**
   * Joins the shards, shapes per-token rewards (Ziegler et al. 2019, Eq. 2) and computes GAE advantages and
   * returns (Schulman et al. 2016, Eq. 16). The complete training batch is owned by this role.
   */
  async computeAdvantages(shards: ScoredShard[], options: AdvantageOptions): Promise<{ batch: ObjectRef<ExperienceBatch>; stats: AdvantageStats }> {
    const parts: ExperienceBatch[] = [];
    for (const shard of shards) {
      const experience = { ...(await shard.experience.get()) };
      experience.referenceLogProbs = await shard.referenceLogProbs.get();
      experience.scores = await shard.scores.get();
      experience.values = await shard.values.get();
      parts.push(experience);
    }
    const experience = concatExperience(parts);
    const { batchSize, responseLength } = experience;
    const shape: [number, number] = [batchSize, responseLength];
    const computed = tf.tidy(() => {
      const mask = tf.tensor2d(experience.actionMask, shape);
      const values = tf.mul(tf.tensor2d(experience.values!, shape), mask) as tf.Tensor2D;
      const { rewards, kl } = klShapedRewards(
        tf.tensor1d(experience.scores!),
        tf.tensor2d(experience.logProbs, shape),
        tf.tensor2d(experience.referenceLogProbs!, shape),
        mask,
        { beta: options.klCoef, estimator: options.klEstimator },
      );
      const { advantages, returns } = gae(rewards, values, mask, { gamma: options.gamma, lambda: options.lambda });
      const finalAdvantages = options.whitenAdvantages ? tf.mul(whiten(advantages, mask, { shiftMean: true }), mask) : advantages;
      return { rewards, kl: tf.sum(kl, 1), advantages: finalAdvantages, returns };
    });
    experience.rewards = (await computed.rewards.data()) as Float32Array;
    experience.advantages = (await computed.advantages.data()) as Float32Array;
    experience.returns = (await computed.returns.data()) as Float32Array;
    const sequenceKl = (await computed.kl.data()) as Float32Array;
    tf.dispose(Object.values(computed));
    const stats: AdvantageStats = {
      kl: mean(sequenceKl),
      modelReward: mean(experience.scores!),
      meanReturn: mean(firstColumn(experience.returns, batchSize, responseLength)),
      meanValue: mean(firstColumn(experience.values!, batchSize, responseLength)),
      weightVersion: experience.weightVersion,
      weightChecksum: experience.weightChecksum,
    };
    return { batch: await actorContext().runtime.put(experience), stats };
  }

  /** Clipped value regression over the plan's minibatches (PPO2's value clipping, as in OpenAI baselines). */
  async trainValue(batchRef: ObjectRef<ExperienceBatch>, plan: MinibatchPlan, options: { clip?: number }): Promise<{ valueLoss: number; valueClipFraction: number; gradNorm: number }> {
    const experience = await batchRef.get();
    let totalLoss = 0;
    let totalClip = 0;
    let totalNorm = 0;
    let count = 0;
    for (const rows of minibatches(plan)) {
      const mine = rankRows(rows, this.init.rank, this.init.worldSize);
      const share = tokensOf(experience, mine) / Math.max(tokensOf(experience, rows), 1);
      const minibatch = selectExperienceRows(experience, Array.from(mine));
      const shape: [number, number] = [minibatch.batchSize, minibatch.responseLength];
      const step = await this.trainStep(share, () => {
        const result = valueLoss(
          actionValues(this.model, minibatch),
          tf.tensor2d(minibatch.values!, shape),
          tf.tensor2d(minibatch.returns!, shape),
          tf.tensor2d(minibatch.actionMask, shape),
          options.clip === undefined ? {} : { clip: options.clip },
        );
        return { loss: result.loss, metrics: { clipFraction: result.clipFraction } };
      });
      totalLoss += step.loss;
      totalClip += step.metrics.clipFraction ?? 0;
      totalNorm += step.gradNorm;
      count += 1;
      await yieldToEventLoop();
    }
    return { valueLoss: totalLoss / Math.max(count, 1), valueClipFraction: totalClip / Math.max(count, 1), gradNorm: totalNorm / Math.max(count, 1) };
  }
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return values.length ? sum / values.length : 0;
}

function firstColumn(values: Float32Array, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows);
  for (let row = 0; row < rows; row++) out[row] = values[row * width]!;
  return out;
}
