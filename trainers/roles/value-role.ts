/**
 * The value model (critic): a scalar per token estimating the return from each state. It scores rollouts, turns
 * scored experience into advantages (it holds the old values GAE needs, so the driver never touches tensors; the
 * math is `ppoAdvantages`), and is regressed towards the returns with a clipped value loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { valueLoss } from '../../algorithms/index.ts';
import { actorContext, type ObjectRef } from '../../runtime/index.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';
import { actionValues } from '../../rollout/log-probs.ts';
import { ppoAdvantages, type PpoAdvantageOptions, type PpoAdvantageStats } from '../advantages/ppo-advantages.ts';
import { overMinibatches } from './minibatch-loop.ts';
import type { MinibatchPlan } from './minibatch-plan.ts';
import { ModelRole } from './model-role.ts';
import { joinScoredShards, type ScoredShard } from './scored-shards.ts';

export class ValueRole extends ModelRole {
  /** (B, N) V_old(s_t) of the experience's states, owned by this role. */
  async values(experienceRef: ObjectRef<ExperienceBatch>): Promise<ObjectRef<Float32Array>> {
    return this.scoreExperience(experienceRef, (chunk) => actionValues(this.model, chunk));
  }

  /** Joins the scored shards and computes PPO's advantages and returns; the training batch is owned by this role. */
  async computeAdvantages(shards: ScoredShard[], options: PpoAdvantageOptions): Promise<{ batch: ObjectRef<ExperienceBatch>; stats: PpoAdvantageStats }> {
    const { experience, stats } = ppoAdvantages(await joinScoredShards(shards), options);
    return { batch: await actorContext().runtime.put(experience), stats };
  }

  /** Clipped value regression over the plan's minibatches (PPO2's value clipping, as in OpenAI baselines). */
  async trainValue(batchRef: ObjectRef<ExperienceBatch>, plan: MinibatchPlan, options: { clip?: number }): Promise<{ valueLoss: number; valueClipFraction: number; gradNorm: number }> {
    const experience = await batchRef.get();
    const means = await overMinibatches(experience, plan, this.init, ['clipFraction'], (minibatch, share) => {
      const shape: [number, number] = [minibatch.batchSize, minibatch.responseLength];
      return this.trainStep(share, () => {
        const result = valueLoss(
          actionValues(this.model, minibatch),
          tf.tensor2d(minibatch.values!, shape),
          tf.tensor2d(minibatch.returns!, shape),
          tf.tensor2d(minibatch.actionMask, shape),
          options.clip === undefined ? {} : { clip: options.clip },
        );
        return { loss: result.loss, metrics: { clipFraction: result.clipFraction } };
      });
    });
    return { valueLoss: means.loss, valueClipFraction: means.clipFraction, gradNorm: means.gradNorm };
  }
}
