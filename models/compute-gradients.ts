/**
 * Backpropagation into one flat gradient buffer: the loss is built from the model's parameter tensors, tfjs
 * computes one gradient tensor per parameter, and they are copied into a Float32Array with the model's flat
 * layout. That buffer is what data-parallel ranks allreduce and what Adam consumes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PosttrainError } from '../runtime/errors.ts';
import type { CausalModel } from './causal-model.ts';

/** What a loss function returns: a scalar, or a scalar plus scalar metrics to report. */
export type LossOutput = tf.Scalar | { loss: tf.Scalar; metrics?: Record<string, tf.Tensor> };

export interface GradientResult {
  /** The loss value. */
  loss: number;
  /** (P) d loss / d parameters, in the model's flat layout. */
  gradients: Float32Array;
  /** Scalar metrics the loss function returned (e.g. clip fraction), as numbers. */
  metrics: Record<string, number>;
}

/**
 * Runs `lossFunction` (which must use `model`'s parameters) and returns the loss and its flat gradient. Every
 * tensor it creates is freed before returning. Reads the results synchronously, which the `webgpu` backend
 * cannot do in Node (tfjs-webgpu's synchronous read needs a browser's OffscreenCanvas): there, use
 * `computeGradientsAsync`, which works on every backend.
 *
 * @example
 * const { loss, gradients } = computeGradients(policy, () => sftLoss(policy.logits(batch), targets, mask));
 * adam.step(policy.parameters.data, gradients);
 * policy.refresh();
 */
export function computeGradients(model: CausalModel, lossFunction: () => LossOutput, into?: Float32Array): GradientResult {
  if (tf.getBackend() === 'webgpu') {
    throw new PosttrainError(
      'ENGINE_SYNC_READ',
      'computeGradients reads tensors synchronously, which the webgpu backend cannot do in Node; call computeGradientsAsync instead',
      { path: 'engine.backend' },
    );
  }
  const backward = runBackward(model, lossFunction);
  return collect(model, backward, (tensor) => tensor.dataSync() as Float32Array, into);
}

/**
 * `computeGradients` that reads the results with `await tensor.data()`: the same numbers, on every backend
 * including `webgpu`.
 *
 * @example
 * const { loss, gradients } = await computeGradientsAsync(policy, () => sftLoss(policy.logits(batch), targets, mask));
 */
export async function computeGradientsAsync(model: CausalModel, lossFunction: () => LossOutput, into?: Float32Array): Promise<GradientResult> {
  const backward = runBackward(model, lossFunction);
  const tensors = [backward.value, ...backward.grads.filter((gradient) => gradient !== undefined), ...Object.values(backward.metricTensors)];
  const values = new Map<tf.Tensor, Float32Array>();
  try {
    await Promise.all(tensors.map(async (tensor) => values.set(tensor, (await tensor.data()) as Float32Array)));
  } catch (error) {
    dispose(backward);
    throw error;
  }
  return collect(model, backward, (tensor) => values.get(tensor)!, into);
}

interface Backward {
  /** The scalar loss. */
  value: tf.Scalar;
  /** One gradient per parameter tensor, in manifest order (undefined where the loss does not depend on it). */
  grads: (tf.Tensor | undefined)[];
  /** Scalar metrics the loss function returned, kept past its tidy scope. */
  metricTensors: Record<string, tf.Tensor>;
}

function runBackward(model: CausalModel, lossFunction: () => LossOutput): Backward {
  const parameters = model.parameterTensors();
  let metricTensors: Record<string, tf.Tensor> = {};
  const { value, grads } = tf.engine().gradients(
    () => {
      const output = lossFunction();
      if (output instanceof tf.Tensor) return output;
      metricTensors = Object.fromEntries(Object.entries(output.metrics ?? {}).map(([name, tensor]) => [name, tf.keep(tensor)]));
      return output.loss;
    },
    parameters,
    undefined,
    true,
  );
  return { value: value as tf.Scalar, grads, metricTensors };
}

/** Copies the gradients into the flat layout, reads loss and metrics, and frees every tensor. */
function collect(model: CausalModel, backward: Backward, read: (tensor: tf.Tensor) => Float32Array, into?: Float32Array): GradientResult {
  try {
    const gradients = into ?? new Float32Array(model.parameters.size);
    const entries = model.parameters.manifest.entries;
    for (let i = 0; i < entries.length; i++) {
      const gradient = backward.grads[i];
      const entry = entries[i]!;
      if (gradient) gradients.set(read(gradient), entry.offset);
      else gradients.fill(0, entry.offset, entry.offset + entry.size);
    }
    const loss = read(backward.value)[0]!;
    const metrics = Object.fromEntries(Object.entries(backward.metricTensors).map(([name, tensor]) => [name, read(tensor)[0]!]));
    return { loss, gradients, metrics };
  } finally {
    dispose(backward);
  }
}

function dispose({ value, grads, metricTensors }: Backward): void {
  value.dispose();
  for (const gradient of grads) gradient?.dispose();
  for (const tensor of Object.values(metricTensors)) tensor.dispose();
}
