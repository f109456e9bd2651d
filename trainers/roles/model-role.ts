/**
 * What every model role shares: a GPT of some head, its flat weights (from a seed or a model file), and for
 * trainable roles an Adam optimizer and a data-parallel communicator. Roles run inside a `RoleHost` actor
 * process; the driver reaches them through `RoleGroup`s and passes ObjectRefs, never weights.
 *
 * Data parallelism (gradient averaging as in PyTorch DDP): every rank holds the full model, computes the gradient
 * of its share of a minibatch, scales it by its share of the minibatch's weight (tokens or rows), and the ranks
 * sum-allreduce. The result is the gradient of the whole minibatch's mean loss, so a group of any size takes the
 * same step as one rank on the same data (test/trainers/data-parallel.test.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { createCommunicator, createUniqueId, type Communicator, type UniqueId } from '../../runtime/collectives/index.ts';
import { actorContext, type ObjectRef } from '../../runtime/index.ts';
import { Adam, type AdamOptions, type AdamState } from '../../models/adam.ts';
import { computeGradientsAsync, type LossOutput } from '../../models/compute-gradients.ts';
import type { CausalModel } from '../../models/causal-model.ts';
import { GPT, type HeadKind } from '../../models/gpt.ts';
import { createModel, exportModel, type ExportedModel, type ModelSpec } from '../../models/model-spec.ts';
import { loadModelFile, transplantParameters } from '../../models/model-file.ts';
import { checksum } from '../../models/flat-parameters.ts';
import { engineChoice } from '../../models/engine.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';
import { scoreInChunks, type SequenceBatch } from '../../rollout/log-probs.ts';
import { SCORING_CHUNK } from './scored-shards.ts';

/** Where a role's first weights come from. */
export type WeightsSource =
  /** Fresh, seeded initialisation. */
  | { seed: number }
  /**
   * A model file written by an earlier stage. Parameters of matching name and shape are copied (the trunk); a head
   * of another kind stays freshly initialised from `seed` (e.g. a reward model started from the SFT model).
   */
  | { file: { directory: string; name: string }; seed: number }
  /**
   * A Hugging Face folder (the user's model, or an earlier stage's `model/`). Tensors the folder lacks (a value
   * or reward head on a causal LM) start fresh from `seed`.
   */
  | { pretrained: string; seed: number };

/** Everything a model role needs to start; plain data, so it can cross to the worker process. */
export interface ModelRoleInit {
  /** Role name in logs and errors, e.g. `policy`. */
  role: string;
  /** Data-parallel rank and group size of this role. */
  rank: number;
  worldSize: number;
  model: ModelSpec;
  head: HeadKind;
  weights: WeightsSource;
  /** Present for trainable roles. */
  optimizer?: AdamOptions;
}

/** A role's full state for checkpoints and warm spares: weights plus optimizer moments. */
export interface RoleSnapshot {
  weights: Float32Array;
  weightVersion: number;
  optimizer?: Pick<AdamState, 'step' | 'firstMoment' | 'secondMoment'>;
}

/** Published weights: a ref owned by the publishing role, its version and checksum. */
export interface PublishedWeights {
  ref: ObjectRef<Float32Array>;
  version: number;
  checksum: string;
}

export class ModelRole {
  readonly init: ModelRoleInit;
  readonly model: CausalModel;
  protected readonly optimizer: Adam | undefined;
  protected communicator: Communicator | undefined;
  /** Incremented by every optimizer step, so a weight version names exactly one set of bytes. */
  protected weightVersion = 0;

  constructor(init: ModelRoleInit) {
    this.init = init;
    // Under LoRA only a trainable role gets adapters (its parameters); a frozen one is the shared base, adapters off.
    this.model = createModel(init.model, init.head, init.weights.seed, 'pretrained' in init.weights ? init.weights.pretrained : undefined, { frozen: !init.optimizer });
    if ('file' in init.weights) loadWeightsFromFile(this.model as GPT, init.weights.file, init.role);
    this.model.refresh();
    this.optimizer = init.optimizer ? new Adam(this.model.parameters.size, init.optimizer) : undefined;
  }

  // ---------------------------------------------------------------------------------- data parallelism

  /** Rank 0 creates the group's unique id (shm when every rank is on this node, tcp across nodes). */
  async createCollectiveId(backend: 'shm' | 'tcp'): Promise<UniqueId> {
    return createUniqueId({ backend });
  }

  /** Every rank joins with the id from rank 0; resolves when the whole group has formed. */
  async joinCollective(uniqueId: UniqueId, rank: number, worldSize: number): Promise<void> {
    this.communicator?.destroy();
    this.communicator = undefined;
    (this.init as { rank: number }).rank = rank;
    (this.init as { worldSize: number }).worldSize = worldSize;
    if (worldSize > 1) this.communicator = await createCommunicator(uniqueId, { rank, worldSize });
  }

  /**
   * Runs `loss` on this rank's share of a minibatch, averages the gradient across ranks and takes one optimizer
   * step. `share` is this rank's fraction of the minibatch's loss weight (its tokens / all tokens for token-mean
   * losses); metric values come back weighted the same way, so summing them over ranks gives the minibatch's.
   */
  protected async trainStep(share: number, loss: () => LossOutput): Promise<{ loss: number; gradNorm: number; metrics: Record<string, number> }> {
    const optimizer = this.requireOptimizer();
    const result = await computeGradientsAsync(this.model, loss);
    if (this.communicator) {
      const gradients = result.gradients;
      for (let i = 0; i < gradients.length; i++) gradients[i]! *= share;
      await this.communicator.allreduce(gradients, { op: 'sum' });
    }
    const { gradNorm } = optimizer.step(this.model.parameters.data, result.gradients);
    this.model.refresh();
    this.weightVersion += 1;
    const metrics = Object.fromEntries(Object.entries(result.metrics).map(([name, value]) => [name, value * share]));
    return { loss: result.loss * share, gradNorm, metrics };
  }

  // ---------------------------------------------------------------------------------- weights

  /** Puts the current weights into the object store (owned by this role) for rollout workers to load. */
  async publishWeights(): Promise<PublishedWeights> {
    const weights = this.model.parameters.data.slice();
    const ref = await actorContext().runtime.put(weights);
    return { ref, version: this.weightVersion, checksum: checksum(weights) };
  }

  /** Replaces the weights with published ones (e.g. a reference or a rollout worker following the policy). */
  async loadWeights(ref: ObjectRef<Float32Array>, version: number): Promise<string> {
    const weights = await ref.get();
    this.model.loadFlat(weights);
    this.weightVersion = version;
    return checksum(this.model.parameters.data);
  }

  /** Weights and optimizer state, for a checkpoint or a warm spare. */
  async snapshot(): Promise<RoleSnapshot> {
    const state = this.optimizer?.state();
    return {
      weights: this.model.parameters.data.slice(),
      weightVersion: this.weightVersion,
      ...(state ? { optimizer: { step: state.step, firstMoment: state.firstMoment, secondMoment: state.secondMoment } } : {}),
    };
  }

  /** Restores a snapshot taken from a role of the same layout. */
  async restore(snapshot: RoleSnapshot): Promise<void> {
    this.model.loadFlat(snapshot.weights);
    this.weightVersion = snapshot.weightVersion;
    if (snapshot.optimizer) this.requireOptimizer().loadState(snapshot.optimizer);
  }

  /** `checksum()` of the current weights: equal on every data-parallel rank after every step. */
  async weightsChecksum(): Promise<string> {
    return checksum(this.model.parameters.data);
  }

  /** The model's header fields and current weights, for writing a stage's output model file. */
  async exportModel(): Promise<ExportedModel> {
    const { model, weights } = this.init;
    return exportModel(this.model, 'pretrained' in weights ? weights.pretrained : model.kind === 'hf' ? model.directory : undefined);
  }

  /** The tensor backend this role computes on (`wasm`, `cpu`, `tensorflow`, ...). */
  async engineName(): Promise<string | undefined> {
    return engineChoice()?.backend;
  }

  async dispose(): Promise<void> {
    this.communicator?.destroy();
    this.model.dispose();
  }

  /**
   * Scores an experience batch `SCORING_CHUNK` rows at a time with `score` (bounded activation memory) and puts
   * the values in the object store, owned by this role: what the scoring roles hand the advantage role.
   */
  protected async scoreExperience(experienceRef: ObjectRef<ExperienceBatch>, score: (chunk: SequenceBatch) => tf.Tensor): Promise<ObjectRef<Float32Array>> {
    const experience = await experienceRef.get();
    return actorContext().runtime.put(await scoreInChunks(experience, SCORING_CHUNK, score));
  }

  protected requireOptimizer(): Adam {
    if (!this.optimizer) {
      throw new PosttrainError('ROLE_NOT_TRAINABLE', `role ${this.init.role} was started without an optimizer; it cannot train`, { path: this.init.role });
    }
    return this.optimizer;
  }
}

function loadWeightsFromFile(model: GPT, file: { directory: string; name: string }, role: string): void {
  const loaded = loadModelFile(file.directory, file.name);
  const mismatch = (['vocabSize', 'contextLength', 'dModel', 'nHeads', 'nLayers'] as const).filter((key) => loaded.config[key] !== model.config[key]);
  if (mismatch.length > 0) {
    throw new PosttrainError(
      'MODEL_FILE_MISMATCH',
      `role ${role}: ${file.directory}/${file.name} has ${mismatch.map((key) => `${key}=${loaded.config[key]}`).join(', ')} but the config asks for ${mismatch.map((key) => `${key}=${model.config[key]}`).join(', ')}`,
      { path: `${file.directory}/${file.name}.json` },
    );
  }
  if (loaded.head === model.head) {
    model.parameters.load(loaded.weights);
    return;
  }
  const source = new GPT(loaded.config, { head: loaded.head, weights: loaded.weights });
  transplantParameters(source.parameters, model.parameters);
  source.dispose();
}

/** Yields to the event loop so the `health` group and collective sockets are served between minibatches. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
