/**
 * Backpropagation into one flat gradient buffer: the loss is built from the model's parameter tensors, tfjs
 * computes one gradient tensor per parameter, and they are copied into a Float32Array with the model's flat
 * layout. That buffer is what data-parallel ranks allreduce and what Adam consumes.
 */
import * as tf from '@tensorflow/tfjs-core';
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
 * tensor it creates is freed before returning.
 *
 * @example
 * const { loss, gradients } = computeGradients(policy, () => sftLoss(policy.logits(batch), targets, mask));
 * adam.step(policy.parameters.data, gradients);
 * policy.refresh();
 */
export function computeGradients(model: CausalModel, lossFunction: () => LossOutput, into?: Float32Array): GradientResult {
  const parameters = model.parameterTensors();
  const gradients = into ?? new Float32Array(model.parameters.size);
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
  const entries = model.parameters.manifest.entries;
  for (let i = 0; i < entries.length; i++) {
    const gradient = grads[i];
    const entry = entries[i]!;
    if (gradient) gradients.set(gradient.dataSync() as Float32Array, entry.offset);
    else gradients.fill(0, entry.offset, entry.offset + entry.size);
  }
  const loss = value.dataSync()[0]!;
  const metrics = Object.fromEntries(Object.entries(metricTensors).map(([name, tensor]) => [name, tensor.dataSync()[0]!]));
  value.dispose();
  for (const gradient of grads) gradient?.dispose();
  for (const tensor of Object.values(metricTensors)) tensor.dispose();
  return { loss, gradients, metrics };
}
