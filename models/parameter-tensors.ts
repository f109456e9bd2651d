/**
 * The flat parameter buffer as tfjs tensors, one per manifest entry, kept across `tf.tidy` scopes: what a model
 * computes with until its weights change (then the caller disposes them and asks again).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FlatParameters } from './flat-parameters.ts';

/**
 * @example
 * this.tensors ??= keptTensorsOf(this.parameters);   // name -> tensor of the entry's shape
 */
export function keptTensorsOf(parameters: FlatParameters): Map<string, tf.Tensor> {
  const tensors = new Map<string, tf.Tensor>();
  for (const entry of parameters.manifest.entries) tensors.set(entry.name, tf.keep(tf.tensor(parameters.view(entry.name), entry.shape, 'float32')));
  return tensors;
}
