/**
 * What every task gives a trainer: a tokenizer, indexed (hence resumable) streams of SFT examples and training
 * prompts, a fixed eval set that never overlaps training, and a gold reward that no learned model influences.
 *
 * Strings, not ids, cross this interface: a prompt is the text after BOS, a completion is the text the model writes
 * before its EOS. The tokenizer is any `Tokenizer`: the character tokenizer by default, a Hugging Face one for an HF
 * model (`limits` are then counted in its tokens). `models/tasks/batches.ts` turns them into padded id batches for the model.
 */
import type { Tokenizer } from '../../data/tokenizers/tokenizer.ts';

/** One supervised example: the model sees `prompt` and learns to write `completion` then EOS. */
export interface SftExample {
  prompt: string;
  completion: string;
}

/** One labelled comparison for reward-model and DPO training. */
export interface PreferencePair {
  prompt: string;
  /** The completion the (possibly noisy) label prefers. */
  chosen: string;
  /** The completion the label rejects. */
  rejected: string;
  /** Gold reward of `chosen` (diagnostics only: trainers must learn from the label, not from this). */
  chosenGoldReward: number;
  /** Gold reward of `rejected`. */
  rejectedGoldReward: number;
  /** True when label noise swapped the gold order, so `chosen` is the worse completion. */
  labelFlipped: boolean;
}

/** Token budgets of a task, in its tokenizer's tokens; with the character tokenizer all of them fit bench-S (context 64). */
export interface TaskLimits {
  /** Most prompt tokens, BOS included. */
  promptTokens: number;
  /** Most completion tokens, EOS included: the generation length to use. */
  completionTokens: number;
  /** Most tokens of a whole sequence (prompt + completion + EOS), never above the model context. */
  sequenceTokens: number;
}

/** Options of `goldReward`. */
export interface GoldRewardOptions {
  /** Whether the completion ended with EOS (default true). An unfinished completion is never well-formed. */
  finished?: boolean;
}

/** Reference figures a trainer needs to say how much of the possible improvement it achieved. */
export interface RewardReference {
  /** Lowest possible gold reward. */
  min: number;
  /** Highest reachable gold reward (for both tasks here, also the highest possible one). */
  best: number;
  /** Expected gold reward of a completion drawn from the SFT corpus distribution (exact, not estimated). */
  corpusExpected: number;
}

export interface Task {
  /** Stable name, used in configs and run records. */
  readonly name: string;
  /** Everything the task produces derives from this seed (and an example index). */
  readonly seed: number;
  /** Turns the task's text into ids and back; its token counts set `limits`. */
  readonly tokenizer: Tokenizer;
  readonly limits: TaskLimits;
  readonly reward: RewardReference;
  /** SFT example number `index` (deterministic in (seed, index)); its prompt is a train prompt. */
  sftExample(index: number): SftExample;
  /** Training prompt number `index` (deterministic in (seed, index)); never an eval prompt. */
  trainPrompt(index: number): string;
  /** The first `count` prompts of the fixed eval set (all of it by default), disjoint from every train prompt. */
  evalPrompts(count?: number): string[];
  /** Gold reward of `completion` written after `prompt`; see the task's doc for its range and meaning. */
  goldReward(prompt: string, completion: string, options?: GoldRewardOptions): number;
  /** JSON-safe description (name, seed, options) to record in configs and checkpoints. */
  toJSON(): Record<string, unknown>;
}

/** A task that also yields gold-labelled preference pairs (for reward models and DPO). */
export interface PreferenceTask extends Task {
  /**
   * Pair number `index` (deterministic in (seed, index, options)): two different-scoring completions of a train
   * prompt; `chosen` is the gold-better one except with probability `labelNoise`, when the two are swapped.
   */
  preferencePair(index: number, options?: { labelNoise?: number }): PreferencePair;
}

/** Narrows a task to one that yields preference pairs. */
export function isPreferenceTask(task: Task): task is PreferenceTask {
  return typeof (task as Partial<PreferenceTask>).preferencePair === 'function';
}
