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
}

/** Which prompts to roll out. */
export interface RolloutRequest {
  /** (B) indices into the task's train prompts, or into its eval prompts when `split` is `eval`. */
  promptIndices: Int32Array;
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
  /** (B) gold reward of every row. */
  goldRewards: Float32Array;
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
  private weightVersion = -1;
  private weightChecksum = '';

  constructor(init: RolloutWorkerInit) {
    this.init = init;
    this.task = createTask(init.task, tokenizerOf(init.model));
    this.model = createModel(init.model, 'language', init.seed);
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
    const evalPrompts = request.split === 'eval' ? this.task.evalPrompts() : undefined;
    request.promptIndices.forEach((index, i) => {
      const prompt = evalPrompts ? evalPrompts[index % evalPrompts.length]! : this.task.trainPrompt(index);
      for (let s = 0; s < samples; s++) {
        prompts.push(prompt);
        promptIndices[i * samples + s] = index;
      }
    });
    const batch = promptBatch(this.task.tokenizer, prompts, { length: this.task.limits.promptTokens });
    const generation = await generate(
      this.model,
      { tokens: batch.ids, batchSize: batch.batchSize, length: batch.length, attentionMask: batch.attentionMask },
      { ...this.init.sampling, maxNewTokens: this.task.limits.completionTokens, rng: request.seed === undefined ? this.rng : new Rng(request.seed + this.init.rank), ...(this.init.stopAtEos === false ? {} : { eosToken: this.task.tokenizer.eosTokenId }), padToken: this.task.tokenizer.padTokenId },
    );
    const experience = experienceFromGeneration(generation, { weightVersion: this.weightVersion, weightChecksum: this.weightChecksum });
    experience.promptIndices = promptIndices;
    const { goldRewards, completions } = this.score(prompts, experience);
    if (request.goldAsScores) experience.scores = goldRewards.slice();
    const responseTokens = generation.responseLengths.reduce((sum, length) => sum + length, 0);
    const ref = await actorContext().runtime.put(experience);
    return {
      experience: ref, goldRewards, responseTokens, seconds: (performance.now() - started) / 1000, weightVersion: this.weightVersion,
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

  /** Each row's completion text and its gold reward. */
  private score(prompts: readonly string[], experience: ExperienceBatch): { goldRewards: Float32Array; completions: string[] } {
    const { batchSize, promptLength, responseLength } = experience;
    const width = promptLength + responseLength;
    const goldRewards = new Float32Array(batchSize);
    const completions: string[] = [];
    for (let row = 0; row < batchSize; row++) {
      const ids = experience.sequences.subarray(row * width + promptLength, (row + 1) * width);
      const { text, finished } = readCompletion(this.task.tokenizer, ids);
      goldRewards[row] = this.task.goldReward(prompts[row]!, text, { finished });
      completions.push(text);
    }
    return { goldRewards, completions };
  }
}
