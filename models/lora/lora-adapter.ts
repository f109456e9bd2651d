/**
 * One model's LoRA adapters (Hu et al. 2021, Eq. 3): for every target layer h = W x + (alpha / r) B A x, with W
 * frozen and only A (r, in) and B (out, r) trained. As PEFT initialises them: A kaiming-uniform (a = sqrt(5), so
 * U(-1/sqrt(in), 1/sqrt(in))), B zeros, so a fresh adapter computes exactly the base model. Dropout (PEFT's
 * lora_dropout) drops the adapter's input only, and only while gradients are being taken.
 *
 * A classifier's head (`score`: the reward or value head) is trained in full next to the adapters, as PEFT's
 * `modules_to_save` does for SEQ_CLS; it starts as a copy of the base's head.
 *
 * The adapters live in their own flat buffer (the unit the runtime moves), laid out as the decoder lays out
 * linear weights, (in, out): `<module>.lora_A.weight` holds A^T (in, r) and `<module>.lora_B.weight` holds B^T
 * (r, out), so the adapter's term is x @ A^T @ B^T with no transposed operand.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checksum, FlatParameters } from '../flat-parameters.ts';
import type { DecoderAdapter, HfDecoder } from '../hf/decoder.ts';
import { Rng } from '../rng.ts';
import type { LoraOptions } from './lora-config.ts';
import { type LoraTarget, loraTargets } from './lora-targets.ts';
import { keptTensorsOf } from '../parameter-tensors.ts';

/** The head PEFT's SEQ_CLS task trains in full (`modules_to_save`). */
export const HEAD_WEIGHT = 'score.weight';

/**
 * @example
 * const adapter = new LoraAdapter(base, { rank: 8, alpha: 16, dropout: 0.05 }, 0);
 * base.adapter = adapter;              // what LoraModel does around each call
 * const logits = base.logits(batch);   // W x + (alpha / r) B A x in every target layer
 */
export class LoraAdapter implements DecoderAdapter {
  readonly options: LoraOptions;
  /** alpha / rank. */
  readonly scale: number;
  readonly targets: LoraTarget[];
  /** (in, r) A^T and (r, out) B^T per target, then the trained head when the model has one. */
  readonly parameters: FlatParameters;
  private readonly byModule: Map<string, LoraTarget>;
  private tensors: Map<string, tf.Tensor> | undefined;
  /** Dropout masks drawn since the weights last changed (see `dropout`). */
  private dropoutDraws = 0;
  private dropoutSeed: number | undefined;

  /** Fresh adapters for `base` (A from `seed`, B zero) and, on a classifier, a copy of its head. */
  constructor(base: HfDecoder, options: LoraOptions, seed: number) {
    this.options = options;
    this.scale = options.alpha / options.rank;
    this.targets = loraTargets(base.spec, base.head, options);
    this.byModule = new Map(this.targets.map((target) => [target.module, target]));
    const shapes: [string, number[]][] = this.targets.flatMap((target): [string, number[]][] => [
      [`${target.module}.lora_A.weight`, [target.inFeatures, options.rank]],
      [`${target.module}.lora_B.weight`, [options.rank, target.outFeatures]],
    ]);
    const trainsHead = base.head !== 'language';
    if (trainsHead) shapes.push([HEAD_WEIGHT, base.parameters.entry(HEAD_WEIGHT).shape]);
    this.parameters = FlatParameters.fromShapes(shapes);
    const rng = new Rng(seed);
    for (const target of this.targets) {
      // PEFT: nn.init.kaiming_uniform_(lora_A, a=math.sqrt(5)): bound = sqrt(6 / ((1 + a^2) fan_in)) = 1/sqrt(in).
      const bound = 1 / Math.sqrt(target.inFeatures);
      const a = this.parameters.view(`${target.module}.lora_A.weight`);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
    }
    if (trainsHead) this.parameters.view(HEAD_WEIGHT).set(base.parameters.view(HEAD_WEIGHT));
  }

  /** (N, out) the frozen layer's output plus (alpha / r) (dropout(x) @ A^T) @ B^T when `module` is a target. */
  project(module: string, x: tf.Tensor2D, output: tf.Tensor2D): tf.Tensor2D {
    if (!this.byModule.has(module)) return output;
    const tensors = this.ensureTensors();
    /** (N, r) */
    const down = tf.matMul(this.dropout(x), tensors.get(`${module}.lora_A.weight`) as tf.Tensor2D);
    return tf.add(output, tf.mul(tf.matMul(down, tensors.get(`${module}.lora_B.weight`) as tf.Tensor2D), this.scale));
  }

  /** The trained head in place of the base's frozen one. */
  replacement(name: string): tf.Tensor | undefined {
    return name === HEAD_WEIGHT ? this.ensureTensors().get(name) : undefined;
  }

  /** The parameter tensors in manifest order (what gradients are taken against). */
  parameterTensors(): tf.Tensor[] {
    const tensors = this.ensureTensors();
    return this.parameters.manifest.entries.map((entry) => tensors.get(entry.name)!);
  }

  /** Drops the tensors; they are rebuilt from `parameters.data` on next use. */
  refresh(): void {
    for (const tensor of this.tensors?.values() ?? []) tensor.dispose();
    this.tensors = undefined;
    this.dropoutDraws = 0;
    this.dropoutSeed = undefined;
  }

  /**
   * Inverted dropout of the adapter's input while a gradient tape runs (training); the identity otherwise. The
   * masks are a function of the adapter's bytes and the draw's index since they last changed, so a run resumed
   * from a checkpoint draws exactly the masks the uninterrupted run drew, with no extra state to save.
   */
  private dropout(x: tf.Tensor2D): tf.Tensor2D {
    const p = this.options.dropout;
    if (p === 0 || !tf.engine().isTapeOn()) return x;
    this.dropoutSeed ??= Number.parseInt(checksum(this.parameters.data).slice(0, 8), 16);
    const rng = new Rng((this.dropoutSeed ^ Math.imul(++this.dropoutDraws, 0x9e3779b9)) >>> 0);
    const keep = new Float32Array(x.size);
    for (let i = 0; i < keep.length; i++) keep[i] = rng.uniform() < p ? 0 : 1 / (1 - p);
    return tf.mul(x, tf.tensor2d(keep, x.shape));
  }

  private ensureTensors(): Map<string, tf.Tensor> {
    this.tensors ??= keptTensorsOf(this.parameters);
    return this.tensors;
  }
}
