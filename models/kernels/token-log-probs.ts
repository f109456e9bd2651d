/**
 * log pi(a | s) of the taken token (and optionally the entropy of pi) from logits, in one pass per row:
 *   z = logits / T,  logProb = z[a] - logsumexp(z),  entropy = logsumexp(z) - sum_j softmax(z)_j z_j
 * The composed form (`logSoftmax` then a one-hot product and a sum) builds and keeps three (rows, V) tensors and
 * their gradients; at a 49k vocabulary those were most of a GRPO step on the cpu backend (a Sub, an Exp and
 * Multiplies over 25M values each, bench/llama-step.ts --profile). Here the forward keeps only logsumexp (one
 * float per row) besides the logits, and the gradient
 *   d logits_j = (dLogProb ([j = a] - p_j) - dEntropy p_j (log p_j + H)) / T
 * is written in one pass (native code in the OpenBLAS addon, kernels/blas/native/tensor_kernels.cc).
 *
 * On wasm and cpu with the addon loaded this is one kernel pair; elsewhere (webgpu, tfjs-node, no addon, or
 * `setFusedKernels(false)`) the composed tfjs ops compute the same values and tfjs differentiates them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PosttrainError } from '../../runtime/errors.ts';
import { loadBlasAddon } from './blas/blas-addon.ts';
import { hostKernelsAvailable, registerHostKernel, runHostKernel } from './host-kernel.ts';

const FORWARD = 'PosttrainTokenLogProbs';
const BACKWARD = 'PosttrainTokenLogProbsGrad';

/** Options of `tokenLogProbs`. */
export interface TokenLogProbsOptions {
  /** Divide the logits by this first (default 1). */
  temperature?: number;
  /** Also return the entropy of softmax(logits / T) at each row (default false). */
  entropy?: boolean;
}

/** What `tokenLogProbs` returns; both have the shape of `targets`. */
export interface TokenLogProbs {
  /** (...) log softmax(logits / T)[target] */
  logProbs: tf.Tensor;
  /** (...) H(softmax(logits / T)), when asked for */
  entropy?: tf.Tensor;
}

/**
 * (..., V) logits and (...) int32 target ids -> (...) log-probabilities of the targets [and entropies].
 * Differentiable with respect to the logits.
 *
 * @example
 * const { logProbs } = tokenLogProbs(tf.tensor2d([[0, 0], [1, 3]]), tf.tensor1d([1, 0], 'int32')); // [-0.693, -2.127]
 */
export function tokenLogProbs(logits: tf.Tensor, targets: tf.Tensor, options: TokenLogProbsOptions = {}): TokenLogProbs {
  const temperature = options.temperature ?? 1;
  const withEntropy = options.entropy ?? false;
  checkInputs(logits, targets, temperature);
  if (!nativeAvailable()) return composedTokenLogProbs(logits, targets, temperature, withEntropy);
  const vocabSize = logits.shape[logits.rank - 1]!;
  const rows = targets.size;
  return tf.tidy(() => {
    const flatLogits = tf.reshape(logits, [rows, vocabSize]);
    const flatTargets = tf.reshape(targets, [rows]);
    const [logProbs, entropy] = runHostKernel(FORWARD, { logits: flatLogits, targets: flatTargets }, { temperature, withEntropy: withEntropy ? 1 : 0 });
    return {
      logProbs: tf.reshape(logProbs!, targets.shape),
      ...(withEntropy ? { entropy: tf.reshape(entropy!, targets.shape) } : {}),
    };
  });
}

/** The same values from tfjs ops: log-softmax, a one-hot product and a sum (any backend). */
export function composedTokenLogProbs(logits: tf.Tensor, targets: tf.Tensor, temperature = 1, withEntropy = false): TokenLogProbs {
  return tf.tidy(() => {
    const scaled = temperature === 1 ? logits : tf.div(logits, temperature);
    const vocabSize = logits.shape[logits.rank - 1]!;
    const all = tf.logSoftmax(scaled);
    const logProbs = tf.sum(tf.mul(all, tf.oneHot(tf.cast(targets, 'int32'), vocabSize)), -1);
    if (!withEntropy) return { logProbs };
    return { logProbs, entropy: tf.neg(tf.sum(tf.mul(tf.exp(all), all), -1)) };
  });
}

function nativeAvailable(): boolean {
  return hostKernelsAvailable() && loadBlasAddon().addon !== undefined;
}

function checkInputs(logits: tf.Tensor, targets: tf.Tensor, temperature: number): void {
  const expected = logits.shape.slice(0, -1);
  if (logits.rank < 1 || targets.dtype !== 'int32' || expected.length !== targets.rank || expected.some((size, i) => size !== targets.shape[i])) {
    throw new PosttrainError('INPUT_SHAPE', `tokenLogProbs: targets must be int32 of shape [${expected}] (logits' shape without its last axis); got ${targets.dtype} [${targets.shape}]`, {
      path: 'targets',
    });
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new PosttrainError('CONFIG_INVALID', `tokenLogProbs: temperature must be a positive number, got ${temperature}`, { path: 'temperature' });
  }
}

/** The native code takes typed arrays of exactly these types; tfjs-cpu may hold a tensor's values in another. */
const floats = (values: ArrayLike<number>) => (values instanceof Float32Array ? values : Float32Array.from(values));
const ids = (values: ArrayLike<number>) => (values instanceof Int32Array ? values : Int32Array.from(values));

interface Attributes {
  temperature: number;
  withEntropy: number;
}

registerHostKernel<Attributes>({
  kernelName: FORWARD,
  inputNames: ['logits', 'targets'],
  // logProbs, entropy (zeros unless asked for), logSumExp: one value per row each
  outputShapes: ([, targetShape]) => [targetShape!, targetShape!, targetShape!],
  compute: ([logits, targets], [logProbs, entropy, logSumExp], _shapes, { temperature, withEntropy }) => {
    loadBlasAddon().addon!.tokenLogProbs(floats(logits!), ids(targets!), temperature, logProbs!, withEntropy ? entropy! : null, logSumExp!);
    if (!withEntropy) entropy!.fill(0);
  },
});

registerHostKernel<Attributes>({
  kernelName: BACKWARD,
  inputNames: ['logits', 'targets', 'logSumExp', 'entropy', 'dLogProbs', 'dEntropy'],
  outputShapes: ([logitsShape]) => [logitsShape!],
  compute: ([logits, targets, logSumExp, entropy, dLogProbs, dEntropy], [dLogits], _shapes, { temperature, withEntropy }) => {
    const withGradEntropy = withEntropy === 1;
    loadBlasAddon().addon!.tokenLogProbsGrad(
      floats(logits!),
      ids(targets!),
      temperature,
      floats(logSumExp!),
      withGradEntropy ? floats(entropy!) : null,
      floats(dLogProbs!),
      withGradEntropy ? floats(dEntropy!) : null,
      dLogits!,
    );
  },
});

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['logits', 'targets'],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved, attributes) => {
    const [logits, targets, entropy, logSumExp] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const [dLogProbs, dEntropy] = dy as tf.Tensor[];
    const { temperature, withEntropy } = attributes as unknown as Attributes;
    return {
      logits: () =>
        runHostKernel(BACKWARD, { logits, targets, logSumExp, entropy, dLogProbs: dLogProbs!, dEntropy: dEntropy ?? tf.zerosLike(entropy) }, { temperature, withEntropy })[0]!,
      targets: () => tf.zerosLike(targets),
    };
  },
});
