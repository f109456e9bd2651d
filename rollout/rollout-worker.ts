/**
 * A rollout worker: holds a copy of the policy, follows its published weights, turns prompt indices into
 * experience, and scores what it generated with the task's gold reward (a diagnostic no learned model sees,
 * except in GRPO where a verifiable reward is the training signal).
 *
 * It runs inside a role host (an actor process). The experience it produces is put into the object store and
 * owned by this worker; only the ref and a few numbers go back to the driver.
 */
import { actorContext, type ObjectRef } from '../runtime/index.ts';
import { PosttrainError } from '../runtime/errors.ts';
import { checksum } from '../models/flat-parameters.ts';
import type { CausalModel } from '../models/causal-model.ts';
import { createModel, tokenizerOf, type ModelSpec } from '../models/model-spec.ts';
import { readCompletion } from '../data/tokenizers/token-rows.ts';
import { Rng } from '../models/rng.ts';
import { createTask, promptBatch, type Task, type TaskConfig } from '../models/tasks/index.ts';
import type { SamplingOptions } from './sampling.ts';
import { generate } from './generate.ts';
import { experienceFromGeneration, type ExperienceBatch } from './experience.ts';
import { loadRewardFunctions, type LoadedRewardFunction, type RewardSpecInput } from './reward-functions.ts';
import { scoreCompletions } from './reward-scores.ts';

export interface RolloutWorkerInit {
  role: string;
  rank: number;
  model: ModelSpec;
  task: TaskConfig;
  /** Temperature, top-k, top-p of sampling. */
  sampling: SamplingOptions;
  /** Seed of this worker's sampling stream (the driver derives one per rank). */
  seed: number;
  /** End a row at EOS (default true); false always generates the task's full completion length (benchmarks). */
  stopAtEos?: boolean;
  /** Prompt slots and generated tokens when they differ from the task's (prompts from a dataset). */
  limits?: { promptTokens: number; completionTokens: number };
  /**
   * Reward functions to score completions with instead of the task's gold reward, module paths relative to
   * `baseDir` (the driver's working directory). They are loaded and run here, in the worker that generated the
   * completions, so only numbers go back to the driver.
   */
  rewards?: { specs: RewardSpecInput[]; baseDir: string };
  /**
   * The folder of the policy's starting weights when it differs from `model`'s (an earlier stage's model/). Under
   * LoRA it is the frozen base the published adapters apply to; otherwise published weights replace it anyway.
   */
  baseDirectory?: string;
}

/** Which prompts to roll out. */
export interface RolloutRequest {
  /** (B) indices into the task's train prompts, or into its eval prompts when `split` is `eval`. */
  promptIndices: Int32Array;
  /** (B) the prompts themselves (a dataset's, rendered), used instead of the task's; `promptIndices` then only label rows. */
  prompts?: string[];
  /** Dataset columns of `prompts` (each (B)), passed to the reward functions with the prompts and completion ids. */
  columns?: Record<string, unknown[]>;
  split: 'train' | 'eval';
  /** Samples per prompt (GRPO groups); rows of one prompt are adjacent. Default 1. */
  samplesPerPrompt?: number;
  /** Use `scores` = gold reward (verifiable-reward training) instead of leaving scores to a reward model. */
  goldAsScores?: boolean;
  /**
   * Sample from a fresh stream with this seed instead of the worker's own (evaluation: the same samples at every
   * evaluation, and the training stream is left untouched).
   */
  seed?: number;
}

/** What goes back to the driver: a ref and summary numbers. */
export interface RolloutResult {
  experience: ObjectRef<ExperienceBatch>;
  /** (B) gold reward of every row; with reward functions, their weighted sum. */
  goldRewards: Float32Array;
  /** With reward functions: `module#export` -> its mean (unweighted) over the rows. */
  rewardMeans?: Record<string, number>;
  /** Generated tokens that count (EOS included). */
  responseTokens: number;
  /** Wall seconds of generation in this worker. */
  seconds: number;
  weightVersion: number;
  /** Evaluation only (`split: 'eval'`): each row as text, for people to read what the policy says. */
  completions?: CompletionSample[];
}

/** One generated row as text, with its gold reward. */
export interface CompletionSample {
  prompt: string;
  /** The decoded completion, up to EOS. */
  completion: string;
  goldReward: number;
}

export class RolloutWorker {
  readonly init: RolloutWorkerInit;
  private readonly model: CausalModel;
  private readonly task: Task;
  private rng: Rng;
  private rewardFunctions: Promise<LoadedRewardFunction[]> | undefined;
  private weightVersion = -1;
  private weightChecksum = '';

  constructor(init: RolloutWorkerInit) {
    this.init = init;
    this.task = createTask(init.task, tokenizerOf(init.model));
    this.model = createModel(init.model, 'language', init.seed, init.baseDirectory);
    this.rng = new Rng(init.seed);
  }

  /** Loads published policy weights; returns their checksum as loaded here (the driver can compare). */
  async loadWeights(ref: ObjectRef<Float32Array>, version: number): Promise<string> {
    this.model.loadFlat(await ref.get());
    this.weightVersion = version;
    this.weightChecksum = checksum(this.model.parameters.data);
    return this.weightChecksum;
  }

  async generate(request: RolloutRequest): Promise<RolloutResult> {
    if (this.weightVersion < 0) {
      throw new PosttrainError('ROLLOUT_NO_WEIGHTS', `rollout worker ${this.init.rank} has no policy weights yet: call loadWeights first`);
    }
    const started = performance.now();
    const samples = request.samplesPerPrompt ?? 1;
    const prompts: string[] = [];
    const promptIndices = new Int32Array(request.promptIndices.length * samples);
    const evalPrompts = request.prompts === undefined && request.split === 'eval' ? this.task.evalPrompts() : undefined;
    request.promptIndices.forEach((index, i) => {
      const prompt = request.prompts ? request.prompts[i]! : evalPrompts ? evalPrompts[index % evalPrompts.length]! : this.task.trainPrompt(index);
      for (let s = 0; s < samples; s++) {
        prompts.push(prompt);
        promptIndices[i * samples + s] = index;
      }
    });
    const limits = this.init.limits ?? this.task.limits;
    const batch = promptBatch(this.task.tokenizer, prompts, { length: limits.promptTokens });
    const generation = await generate(
      this.model,
      { tokens: batch.ids, batchSize: batch.batchSize, length: batch.length, attentionMask: batch.attentionMask },
      { ...this.init.sampling, maxNewTokens: limits.completionTokens, rng: request.seed === undefined ? this.rng : new Rng(request.seed + this.init.rank), ...(this.init.stopAtEos === false ? {} : { eosToken: this.task.tokenizer.eosTokenId }), padToken: this.task.tokenizer.padTokenId },
    );
    const experience = experienceFromGeneration(generation, { weightVersion: this.weightVersion, weightChecksum: this.weightChecksum });
    experience.promptIndices = promptIndices;
    const { goldRewards, completions, rewardMeans } = await this.score(prompts, experience, request.columns && repeatEach(request.columns, samples));
    if (request.goldAsScores) experience.scores = goldRewards.slice();
    const responseTokens = generation.responseLengths.reduce((sum, length) => sum + length, 0);
    const ref = await actorContext().runtime.put(experience);
    return {
      experience: ref, goldRewards, ...(rewardMeans ? { rewardMeans } : {}), responseTokens, seconds: (performance.now() - started) / 1000, weightVersion: this.weightVersion,
      ...(request.split === 'eval' ? { completions: prompts.map((prompt, row) => ({ prompt, completion: completions[row]!, goldReward: goldRewards[row]! })) } : {}),
    };
  }

  /** The sampling stream's state, for checkpoints: a resumed run samples exactly what the original would have. */
  async rngState(): Promise<number[]> {
    return this.rng.state();
  }

  async setRngState(state: number[]): Promise<void> {
    this.rng = Rng.fromState(state);
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }

  /**
   * Each row's completion text and its reward: the task's gold reward, or the weighted sum of the reward
   * functions (which also see the prompts, the generated ids up to EOS and every dataset column).
   */
  private async score(prompts: string[], experience: ExperienceBatch, columns: Record<string, unknown[]> | undefined): Promise<{ goldRewards: Float32Array; completions: string[]; rewardMeans?: Record<string, number> }> {
    const { batchSize, promptLength, responseLength } = experience;
    const width = promptLength + responseLength;
    const goldRewards = new Float32Array(batchSize);
    const completions: string[] = [];
    const completionIds: number[][] = [];
    const finishedRows: boolean[] = [];
    for (let row = 0; row < batchSize; row++) {
      const ids = experience.sequences.subarray(row * width + promptLength, (row + 1) * width);
      const { text, finished } = readCompletion(this.task.tokenizer, ids);
      completions.push(text);
      finishedRows.push(finished);
      const counted = experience.actionMask.subarray(row * responseLength, (row + 1) * responseLength).reduce((sum, mask) => sum + mask, 0);
      completionIds.push(Array.from(ids.subarray(0, counted)));
    }
    if (this.init.rewards === undefined) {
      for (let row = 0; row < batchSize; row++) goldRewards[row] = this.task.goldReward(prompts[row]!, completions[row]!, { finished: finishedRows[row]! });
      return { goldRewards, completions };
    }
    this.rewardFunctions ??= loadRewardFunctions(this.init.rewards.specs, { baseDir: this.init.rewards.baseDir });
    const { total, perFunction } = await scoreCompletions(await this.rewardFunctions, completions, { ...columns, prompts: [...prompts], completionIds });
    goldRewards.set(total);
    const rewardMeans = Object.fromEntries(Object.entries(perFunction).map(([name, values]) => [name, values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1)]));
    return { goldRewards, completions, rewardMeans };
  }
}

/** Each column's per-prompt values repeated `times` times in place (the rows of a prompt's group are adjacent). */
function repeatEach(columns: Record<string, unknown[]>, times: number): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(columns).map(([name, values]) => [name, values.flatMap((value) => Array.from({ length: times }, () => value))]));
}
