/**
 * An iteration's experience arrives as one shard per rollout worker, each scored by the scoring roles (reference
 * log-probs, reward-model scores, old values) into refs those roles own. The role that computes advantages joins
 * them into one batch here, so advantages are whitened and minibatches drawn over the whole batch.
 */
import type { ObjectRef } from '../../runtime/index.ts';
import { concatExperience } from '../../rollout/concat-experience.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';

/** Rows scored per forward pass by the scoring roles (bounds activation memory). */
export const SCORING_CHUNK = 64;

/** Rollout worker i's shard with what each scoring role computed for it. */
export interface ScoredShard {
  experience: ObjectRef<ExperienceBatch>;
  /** (B_i, N) log pi_ref(a_t | s_t). */
  referenceLogProbs: ObjectRef<Float32Array>;
  /**
   * (B_i) reward-model scores; absent when the rollout worker scored the rows itself (a verifiable reward or
   * reward functions). When both scored, the experience's scores are their sum (PPO: reward model + functions).
   */
  scores?: ObjectRef<Float32Array>;
  /** (B_i, N) V_old(s_t) (PPO). */
  values?: ObjectRef<Float32Array>;
}

/**
 * @example
 * const experience = await joinScoredShards(shards);   // B = sum of the shards' rows, scoring fields attached
 */
export async function joinScoredShards(shards: readonly ScoredShard[]): Promise<ExperienceBatch> {
  const parts: ExperienceBatch[] = [];
  for (const shard of shards) {
    const experience = { ...(await shard.experience.get()) };
    experience.referenceLogProbs = await shard.referenceLogProbs.get();
    if (shard.scores) experience.scores = withWorkerScores(await shard.scores.get(), experience.scores);
    if (shard.values) experience.values = await shard.values.get();
    parts.push(experience);
  }
  return concatExperience(parts);
}

/** The reward model's scores plus the rollout worker's own (its reward functions' weighted sum), when it set any. */
function withWorkerScores(modelScores: Float32Array, workerScores: Float32Array | undefined): Float32Array {
  if (!workerScores) return modelScores;
  return modelScores.map((score, row) => score + workerScores[row]!);
}
