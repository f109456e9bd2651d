/**
 * Batched sampling from a language-model head with a KV cache: one prefill over the (left-padded) prompts, then
 * one decode step per new token. Logits come back to JavaScript each step (B x V floats) and are sampled there
 * with the seeded Rng, so the same seed gives the same samples on every backend.
 *
 * Which log-probability is returned (both are, per token):
 * - `logProbs`: log pi(a_t | s_t) with pi = softmax(logits / scoringTemperature), over the FULL vocabulary
 *   (no top-k/top-p). This is the policy's own probability, i.e. what a trainer's forward pass recomputes with
 *   the same temperature, so PPO's ratio pi_theta / pi_old is exactly 1 before the first update. The default
 *   scoringTemperature is 1 (the policy as trained), whatever temperature was used for sampling; set it to the
 *   sampling temperature if the trainer also scales its logits (as TRL does).
 * - `samplingLogProbs`: log q(a_t | s_t) of the distribution actually sampled from (temperature, top-k and
 *   top-p applied and renormalised): the behaviour policy, for off-policy corrections. With temperature 1 and
 *   no truncation the two are equal.
 *
 * Rows stop at `eosToken` (which is kept, with action mask 1); after it a row emits `padToken` with attention
 * and action mask 0 and log-probs 0.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { CausalModel } from '../models/causal-model.ts';
import type { TokenBatch } from '../models/gpt.ts';
import type { Rng } from '../models/rng.ts';
import { ConfigError } from '../runtime/errors.ts';
import { type SamplingOptions, sampleToken, tokenLogProb, validateSamplingOptions } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  /** N, the number of tokens to generate per row (rows that stop early are padded to N). */
  maxNewTokens: number;
  /** The seeded generator; advanced by exactly one draw per row per step. */
  rng: Rng;
  /** Token that ends a row (kept in the output); omit to always generate N tokens. */
  eosToken?: number;
  /** Token written after a row ended (default 0). */
  padToken?: number;
  /** Temperature of the policy whose log-probs `logProbs` reports (default 1). */
  scoringTemperature?: number;
}

/** The output of `generate`, as plain typed arrays (B rows, P prompt slots, N generated slots). */
export interface Generation {
  batchSize: number;
  /** P, prompt slots per row (prompts are left-padded to this length). */
  promptLength: number;
  /** N, generated slots per row. */
  responseLength: number;
  /** (B, P + N) prompt then generated tokens; PAD after a row's EOS. */
  sequences: Int32Array;
  /** (B, P + N) 1 for real tokens (prompt and generated up to EOS), 0 for padding. */
  attentionMask: Int32Array;
  /** (B, N) 1 for generated tokens up to and including EOS, 0 after. */
  actionMask: Float32Array;
  /** (B, N) log pi(a_t | s_t) at `scoringTemperature`, full vocabulary; 0 where the action mask is 0. */
  logProbs: Float32Array;
  /** (B, N) log q(a_t | s_t) of the distribution sampled from; 0 where the action mask is 0. */
  samplingLogProbs: Float32Array;
  /** (B) generated tokens per row that count (action mask sum). */
  responseLengths: Int32Array;
}

/**
 * @example
 * const rollout = await generate(policy, prompts, { maxNewTokens: 32, rng: new Rng(7), topK: 20, eosToken: 2 });
 * rollout.sequences; // Int32Array (B, P + 32)
 */
export async function generate(model: CausalModel, prompts: TokenBatch, options: GenerateOptions): Promise<Generation> {
  validateGenerateOptions(model, prompts, options);
  const { batchSize, length: promptLength } = prompts;
  const responseLength = options.maxNewTokens;
  const totalLength = promptLength + responseLength;
  const vocabSize = model.config.vocabSize;
  const padToken = options.padToken ?? 0;
  const scoringTemperature = options.scoringTemperature ?? 1;
  const promptMask = prompts.attentionMask ?? new Int32Array(batchSize * promptLength).fill(1);

  const sequences = new Int32Array(batchSize * totalLength);
  const attentionMask = new Int32Array(batchSize * totalLength);
  for (let b = 0; b < batchSize; b++) {
    sequences.set(prompts.tokens.subarray(b * promptLength, (b + 1) * promptLength), b * totalLength);
    attentionMask.set(promptMask.subarray(b * promptLength, (b + 1) * promptLength), b * totalLength);
  }
  const actionMask = new Float32Array(batchSize * responseLength);
  const logProbs = new Float32Array(batchSize * responseLength);
  const samplingLogProbs = new Float32Array(batchSize * responseLength);
  const responseLengths = new Int32Array(batchSize);
  const finished = new Uint8Array(batchSize);
  const nextTokens = new Int32Array(batchSize);
  const nextMask = new Int32Array(batchSize);

  const { output, cache } = model.prefill({ tokens: prompts.tokens, batchSize, length: promptLength, attentionMask: promptMask }, totalLength);
  let logitsTensor: tf.Tensor2D = output;
  try {
    for (let step = 0; step < responseLength; step++) {
      const logits = (await logitsTensor.data()) as Float32Array;
      logitsTensor.dispose();
      let running = 0;
      for (let b = 0; b < batchSize; b++) {
        const u = options.rng.uniform();
        const index = b * responseLength + step;
        const slot = b * totalLength + promptLength + step;
        if (finished[b]) {
          sequences[slot] = padToken;
          nextTokens[b] = padToken;
          nextMask[b] = 0;
          continue;
        }
        const offset = b * vocabSize;
        const { token, samplingLogProb } = sampleToken(logits, offset, vocabSize, options, u);
        sequences[slot] = token;
        attentionMask[slot] = 1;
        actionMask[index] = 1;
        logProbs[index] = tokenLogProb(logits, offset, vocabSize, token, scoringTemperature);
        samplingLogProbs[index] = samplingLogProb;
        responseLengths[b]! += 1;
        nextTokens[b] = token;
        nextMask[b] = 1;
        if (token === options.eosToken) finished[b] = 1;
        else running++;
      }
      if (step + 1 === responseLength) break;
      if (running === 0) {
        for (let b = 0; b < batchSize; b++) sequences.fill(padToken, b * totalLength + promptLength + step + 1, (b + 1) * totalLength);
        break;
      }
      logitsTensor = model.decode(nextTokens, cache, nextMask);
    }
  } finally {
    if (!logitsTensor.isDisposed) logitsTensor.dispose();
    cache.dispose();
  }
  return { batchSize, promptLength, responseLength, sequences, attentionMask, actionMask, logProbs, samplingLogProbs, responseLengths };
}

function validateGenerateOptions(model: CausalModel, prompts: TokenBatch, options: GenerateOptions): void {
  validateSamplingOptions(options);
  const issues: { path: string; message: string }[] = [];
  if (model.head !== 'language') issues.push({ path: 'model.head', message: `generation needs a 'language' head, got '${model.head}'` });
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) {
    issues.push({ path: 'rollout.maxNewTokens', message: `must be a positive integer, got ${options.maxNewTokens}` });
  } else if (prompts.length + options.maxNewTokens > model.config.contextLength) {
    issues.push({
      path: 'rollout.maxNewTokens',
      message: `prompt length ${prompts.length} + maxNewTokens ${options.maxNewTokens} exceeds the model's context length ${model.config.contextLength}`,
    });
  }
  const scoring = options.scoringTemperature ?? 1;
  if (!(scoring > 0)) issues.push({ path: 'rollout.scoringTemperature', message: `must be > 0, got ${scoring}` });
  for (const [field, token] of [['eosToken', options.eosToken], ['padToken', options.padToken]] as const) {
    if (token !== undefined && (!Number.isInteger(token) || token < 0 || token >= model.config.vocabSize)) {
      issues.push({ path: `rollout.${field}`, message: `must be a token id in [0, ${model.config.vocabSize}), got ${token}` });
    }
  }
  if (issues.length) throw new ConfigError(issues);
}
