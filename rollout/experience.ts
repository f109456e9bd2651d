/**
 * The experience batch: the one data contract that flows rollout -> scoring roles -> algorithms -> trainers.
 * Everything is a plain typed array (row-major), so it moves through the object store as raw bytes. B rows,
 * P prompt slots (prompts left-padded), N response slots (responses right-padded after EOS). Per-token fields
 * are (B, N) and aligned with `actionMask`: entry (b, t) describes action a_t = sequences[b, P + t], taken in
 * state s_t = sequences[b, : P + t].
 *
 * Generation fills the first block; the reference, reward and value roles fill theirs; advantages are computed
 * last. Optional fields are absent until the stage that computes them has run.
 */
import type { Generation } from './generate.ts';

export interface ExperienceBatch {
  // --- shape ---------------------------------------------------------------------------------------------
  /** B, rows (prompts x samples per prompt). */
  batchSize: number;
  /** P, prompt slots per row. */
  promptLength: number;
  /** N, response slots per row. */
  responseLength: number;

  // --- from generation -----------------------------------------------------------------------------------
  /** (B, P + N) int32 prompt tokens then response tokens; PAD after EOS. */
  sequences: Int32Array;
  /** (B, P + N) int32 1 for real tokens, 0 for padding (left in the prompt, right after EOS). */
  attentionMask: Int32Array;
  /** (B, N) float32 1 for response tokens up to and including EOS, 0 after. */
  actionMask: Float32Array;
  /** (B, N) log pi_old(a_t | s_t): the generating policy's log-probs (full vocabulary, scoring temperature). */
  logProbs: Float32Array;
  /** (B, N) log q(a_t | s_t) of the distribution actually sampled from (temperature/top-k/top-p applied). */
  samplingLogProbs?: Float32Array;
  /** Version counter of the policy weights that generated this batch (incremented by each weight sync). */
  weightVersion: number;
  /** `checksum()` of the flat policy weights that generated this batch: proves which bytes were used. */
  weightChecksum: string;
  /** (B) index of each row's prompt in the prompt dataset (groups samples of one prompt for GRPO/RLOO). */
  promptIndices?: Int32Array;

  // --- from the scoring roles ----------------------------------------------------------------------------
  /** (B, N) log pi_ref(a_t | s_t) under the frozen reference policy. */
  referenceLogProbs?: Float32Array;
  /** (B, N) V_old(s_t): the value model's estimate before this iteration's updates. */
  values?: Float32Array;
  /** (B) sequence-level score r(x, y) from the reward model (or a verifiable reward). */
  scores?: Float32Array;

  // --- from the algorithm --------------------------------------------------------------------------------
  /** (B, N) per-token reward r_t, e.g. -beta * KL_t plus the score on the last action token. */
  rewards?: Float32Array;
  /** (B, N) advantage estimates A_t (GAE, group-relative, ...), whitened if configured; 0 where masked. */
  advantages?: Float32Array;
  /** (B, N) return targets for the value model, R_t = A_t + V_old(s_t) before whitening. */
  returns?: Float32Array;
}

/**
 * Starts an experience batch from a generation and the weights that produced it.
 *
 * @example
 * const experience = experienceFromGeneration(rollout, { weightVersion: 3, weightChecksum: policy.parameters.checksum() });
 */
export function experienceFromGeneration(generation: Generation, weights: { weightVersion: number; weightChecksum: string }): ExperienceBatch {
  return {
    batchSize: generation.batchSize,
    promptLength: generation.promptLength,
    responseLength: generation.responseLength,
    sequences: generation.sequences,
    attentionMask: generation.attentionMask,
    actionMask: generation.actionMask,
    logProbs: generation.logProbs,
    samplingLogProbs: generation.samplingLogProbs,
    weightVersion: weights.weightVersion,
    weightChecksum: weights.weightChecksum,
  };
}

/** Names of the (B, N) per-token fields, for slicing and validation. */
export const PER_TOKEN_FIELDS = ['actionMask', 'logProbs', 'samplingLogProbs', 'referenceLogProbs', 'values', 'rewards', 'advantages', 'returns'] as const;

/**
 * Rows picked by index (a minibatch), copying every present field.
 *
 * @example
 * const minibatch = selectExperienceRows(experience, [3, 0, 7]);
 */
export function selectExperienceRows(batch: ExperienceBatch, rows: readonly number[]): ExperienceBatch {
  const width = batch.promptLength + batch.responseLength;
  const pick = <T extends Int32Array | Float32Array>(source: T, rowWidth: number): T => {
    const out = new (source.constructor as { new (length: number): T })(rows.length * rowWidth);
    rows.forEach((row, i) => out.set(source.subarray(row * rowWidth, (row + 1) * rowWidth), i * rowWidth));
    return out;
  };
  const out: ExperienceBatch = {
    ...batch,
    batchSize: rows.length,
    sequences: pick(batch.sequences, width),
    attentionMask: pick(batch.attentionMask, width),
    actionMask: pick(batch.actionMask, batch.responseLength),
    logProbs: pick(batch.logProbs, batch.responseLength),
  };
  for (const field of PER_TOKEN_FIELDS) {
    const source = batch[field];
    if (source) out[field] = pick(source, batch.responseLength);
  }
  if (batch.scores) out.scores = pick(batch.scores, 1);
  if (batch.promptIndices) out.promptIndices = pick(batch.promptIndices, 1);
  return out;
}
