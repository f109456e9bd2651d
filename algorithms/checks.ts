/**
 * Input checks on entry, tfjs-core style: the error names the function and the argument, and says what was
 * expected, e.g. `ppoPolicyLoss: oldLogProbs has shape [2,4] but logProbs has shape [2,3]`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { PosttrainError } from '../runtime/errors.ts';

/** Raised for a wrong tensor argument (shape, rank, dtype) or hyperparameter of an algorithm. */
export class AlgorithmInputError extends PosttrainError {
  constructor(functionName: string, argument: string, message: string) {
    super('ALGORITHM_INPUT', `${functionName}: ${message}`, { path: `${functionName}.${argument}` });
  }
}

/** Every named tensor must have the shape of the first one. */
export function checkSameShape(functionName: string, tensors: Record<string, tf.Tensor>): void {
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0]!;
  for (const [name, tensor] of entries.slice(1)) {
    if (tensor.shape.length !== first.shape.length || tensor.shape.some((size, axis) => size !== first.shape[axis])) {
      throw new AlgorithmInputError(functionName, name, `${name} has shape [${tensor.shape}] but ${firstName} has shape [${first.shape}]`);
    }
  }
}

/** The tensor must have this rank. */
export function checkRank(functionName: string, name: string, tensor: tf.Tensor, rank: number, meaning: string): void {
  if (tensor.rank !== rank) {
    throw new AlgorithmInputError(functionName, name, `${name} must be rank ${rank} ${meaning}, got shape [${tensor.shape}]`);
  }
}

/** The tensor must be float32 (log-probs, rewards, masks). */
export function checkFloat(functionName: string, name: string, tensor: tf.Tensor): void {
  if (tensor.dtype !== 'float32') throw new AlgorithmInputError(functionName, name, `${name} must be float32, got ${tensor.dtype}`);
}

/** A numeric hyperparameter must satisfy `ok`. */
export function checkOption(functionName: string, name: string, value: number | undefined, ok: boolean, expected: string): void {
  if (!ok) throw new AlgorithmInputError(functionName, name, `${name} must be ${expected}, got ${value}`);
}
