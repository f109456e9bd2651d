/**
 * A Hugging Face decoder with LoRA adapters, as a CausalModel whose `parameters` are the adapters alone (and a
 * classifier's head). Everything that moves a model's flat buffer (gradients, Adam, the data-parallel allreduce,
 * weight publishing to rollout workers, checkpoint shards, resume, warm spares) therefore moves only the
 * adapters, with no change to the runtime or the roles. The base is frozen and shared (models/lora/shared-base.ts).
 *
 * Without adapters (`adapter` undefined) it is the base itself, frozen: the reference model of a LoRA run, with
 * no weights of its own.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { CausalModel } from '../causal-model.ts';
import { FlatParameters } from '../flat-parameters.ts';
import type { HeadKind, TokenBatch } from '../gpt.ts';
import type { DecoderBatch, HfDecoder } from '../hf/decoder.ts';
import type { KVCache } from '../kv-cache.ts';
import { LoraAdapter } from './lora-adapter.ts';
import type { LoraOptions } from './lora-config.ts';
import { releaseBase } from './shared-base.ts';

/**
 * @example
 * const base = acquireBase('my-model', 'language', 0);
 * const policy = new LoraModel(base, { rank: 8, alpha: 16, dropout: 0 }, 0);  // parameters: adapters only
 * const reference = new LoraModel(base);                                      // the base, adapters off
 */
export class LoraModel implements CausalModel {
  readonly base: HfDecoder;
  /** Undefined: adapters off (the frozen base). */
  readonly adapter: LoraAdapter | undefined;
  readonly parameters: FlatParameters;
  /** Whether `dispose` hands the base back to the shared cache (true when it came from `acquireBase`). */
  private readonly shared: boolean;

  constructor(base: HfDecoder, options?: LoraOptions, seed = 0, { shared = true }: { shared?: boolean } = {}) {
    this.base = base;
    this.adapter = options ? new LoraAdapter(base, options, seed) : undefined;
    this.parameters = this.adapter?.parameters ?? FlatParameters.fromShapes([]);
    this.shared = shared;
  }

  get config() {
    return this.base.config;
  }

  get head(): HeadKind {
    return this.base.head;
  }

  parameterTensors(): tf.Tensor[] {
    return this.adapter?.parameterTensors() ?? [];
  }

  refresh(): void {
    this.adapter?.refresh();
  }

  loadFlat(buffer: Float32Array): void {
    this.parameters.load(buffer);
    this.refresh();
  }

  logits(batch: DecoderBatch, options?: { startPosition?: number }): tf.Tensor3D {
    return this.adapted(() => this.base.logits(batch, options));
  }

  values(batch: DecoderBatch, options?: { startPosition?: number }): tf.Tensor2D {
    return this.adapted(() => this.base.values(batch, options));
  }

  scores(batch: DecoderBatch): tf.Tensor1D {
    return this.adapted(() => this.base.scores(batch));
  }

  /** @returns (B, labels) the head at `positions` (see HfDecoder.pooledScores) */
  pooledScores(batch: DecoderBatch, positions: Int32Array): tf.Tensor2D {
    return this.adapted(() => this.base.pooledScores(batch, positions));
  }

  prefill(batch: TokenBatch, capacity?: number): { output: tf.Tensor2D; cache: KVCache } {
    return this.adapted(() => this.base.prefill(batch, capacity));
  }

  decode(tokens: Int32Array, cache: KVCache, mask?: Int32Array): tf.Tensor2D {
    return this.adapted(() => this.base.decode(tokens, cache, mask));
  }

  dispose(): void {
    this.adapter?.refresh();
    if (this.shared) releaseBase(this.base);
  }

  /** Runs `call` with this model's adapters on the shared base (calls are synchronous, so none interleave). */
  private adapted<T>(call: () => T): T {
    const previous = this.base.adapter;
    this.base.adapter = this.adapter;
    try {
      return call();
    } finally {
      this.base.adapter = previous;
    }
  }
}
