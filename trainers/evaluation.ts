/**
 * Evaluation shared by the trainers: sample completions for the task's held-out prompts with the current policy
 * and score them with the gold reward (and, when a reference is running, measure the KL to it). Evaluation
 * samples from a fixed seed, so successive evaluations compare the policy on the same random numbers, and the
 * training sampler's stream is left as it was.
 */
import type { CompletionSample, RolloutResult } from '../rollout/rollout-worker.ts';
import type { PromptBatch } from './dataset-prompts.ts';
import type { RoleGroup } from './role-groups.ts';

export interface EvaluationResult {
  /** Mean gold reward over the eval samples. */
  goldReward: number;
  /** Mean over samples of sum_t (log pi - log pi_ref): the sequence KL to the reference (when one runs). */
  kl?: number;
  samples: number;
  /** With reward functions: `module#export` -> its mean over the eval samples (goldReward is their weighted sum). */
  rewards?: Record<string, number>;
  /** What the policy says: the first sample of each of the first EVALUATION_SHOWN prompts, as text. */
  completions: CompletionSample[];
  /** Measures on held-out labelled data by name (DPO on preference files: `preferenceAccuracy`, `rewardMargin`). */
  heldOut?: Record<string, number>;
}

/** Prompts whose completions an evaluation keeps as text (in metrics.jsonl and the report). */
const EVALUATION_SHOWN = 8;

/** Evaluation seed: fixed, far from any training seed. */
const EVALUATION_SEED = 0x5eed_e7a1;

/**
 * @example
 * const { goldReward } = await evaluatePolicy({ policy, rollout }, { prompts: 26, samplesPerPrompt: 4 });
 * // a dataset's eval prompts instead of the task's:
 * await evaluatePolicy({ policy, rollout }, { prompts: 26, samplesPerPrompt: 4, dataset: await source.evalPrompts(26) });
 */
export async function evaluatePolicy(
  roles: { policy: RoleGroup<'policy'>; rollout: RoleGroup<'rollout'>; reference?: RoleGroup<'reference'> },
  options: { prompts: number; samplesPerPrompt: number; dataset?: PromptBatch },
): Promise<EvaluationResult> {
  await syncRolloutWeights(roles.policy, roles.rollout);
  const indices = Int32Array.from({ length: options.dataset?.prompts.length ?? options.prompts }, (_, index) => index);
  // Fewer prompts than workers leaves some workers idle (an empty shard has nothing to generate).
  const shards = splitRows(indices, roles.rollout.size);
  const results = await Promise.all(
    shards.flatMap((promptIndices, rank) =>
      promptIndices.length === 0
        ? []
        : [roles.rollout.callRank(rank, 'generate', { promptIndices, split: 'eval', samplesPerPrompt: options.samplesPerPrompt, seed: EVALUATION_SEED, ...(options.dataset ? promptSlice(options.dataset, promptIndices) : {}) })],
    ),
  );
  const rewards = meanRewards(results);
  let goldSum = 0;
  let samples = 0;
  let klSum = 0;
  const completions: CompletionSample[] = [];
  for (const result of results) {
    for (const [row, completion] of (result.completions ?? []).entries()) {
      if (row % options.samplesPerPrompt === 0 && completions.length < EVALUATION_SHOWN) completions.push(completion);
    }
    for (const reward of result.goldRewards) goldSum += reward;
    samples += result.goldRewards.length;
    if (roles.reference) klSum += (await roles.reference.callRank(0, 'sequenceKl', result.experience)) * result.goldRewards.length;
    result.experience.release();
  }
  return { goldReward: goldSum / Math.max(samples, 1), samples, completions, ...(rewards ? { rewards } : {}), ...(roles.reference ? { kl: klSum / Math.max(samples, 1) } : {}) };
}

/** Publishes the policy's weights (rank 0; all ranks hold the same) and loads them into every rollout worker. */
export async function syncRolloutWeights(policy: RoleGroup<'policy'>, rollout: RoleGroup<'rollout'>): Promise<{ version: number; checksum: string }> {
  const published = await policy.callRank(0, 'publishWeights');
  try {
    const loaded = await rollout.callAll('loadWeights', published.ref, published.version);
    for (const [rank, checksum] of loaded.entries()) {
      if (checksum !== published.checksum) throw new Error(`rollout worker ${rank} loaded weights ${checksum}, the policy published ${published.checksum}`);
    }
    return { version: published.version, checksum: published.checksum };
  } finally {
    published.ref.release();
  }
}

/** Splits rows into `parts` contiguous pieces of sizes differing by at most one. */
export function splitRows(rows: Int32Array, parts: number): Int32Array[] {
  return Array.from({ length: parts }, (_, part) => rows.subarray(Math.floor((rows.length * part) / parts), Math.floor((rows.length * (part + 1)) / parts)));
}

/** The prompts and columns of the rows `indices` (contiguous, from splitRows) of a dataset's batch, for one worker. */
export function promptSlice(batch: PromptBatch, indices: Int32Array): PromptBatch {
  const start = indices[0] ?? 0;
  const end = start + indices.length;
  return { prompts: batch.prompts.slice(start, end), columns: Object.fromEntries(Object.entries(batch.columns).map(([name, values]) => [name, values.slice(start, end)])) };
}

/** Each reward function's mean over all workers' rows (weighted by rows), or undefined without reward functions. */
export function meanRewards(results: readonly Pick<RolloutResult, 'rewardMeans' | 'goldRewards'>[]): Record<string, number> | undefined {
  if (!results.some((result) => result.rewardMeans)) return undefined;
  const sums: Record<string, number> = {};
  let rows = 0;
  for (const result of results) {
    rows += result.goldRewards.length;
    for (const [name, mean] of Object.entries(result.rewardMeans ?? {})) sums[name] = (sums[name] ?? 0) + mean * result.goldRewards.length;
  }
  return Object.fromEntries(Object.entries(sums).map(([name, sum]) => [name, sum / Math.max(rows, 1)]));
}
