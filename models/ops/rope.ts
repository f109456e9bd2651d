/**
 * Rotary position embeddings (Su et al. 2021, "RoFormer", Eq. 34) in the half-split layout of transformers'
 * `rotate_half`: a head vector x = [x1 | x2] at position p becomes
 *   x * cos(p f) + [-x2 | x1] * sin(p f),   f = [f_0..f_{d/2-1} | f_0..f_{d/2-1}],  f_i = theta^(-2i/d)
 * The inverse frequencies are computed in float32 exactly as transformers' `_compute_default_rope_parameters`
 * and `_compute_llama3_parameters` do (src/transformers/modeling_rope_utils.py), so the angles match to the ulp.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RopeSpec } from '../hf/hf-config.ts';

const f32 = Math.fround;

/**
 * The d/2 inverse frequencies, with the scaling of `rope.type` applied.
 *
 * @example
 * ropeInverseFrequencies(4, { theta: 10000, type: 'default', factor: 1, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPositions: 0 }); // [1, 0.01]
 */
export function ropeInverseFrequencies(headDim: number, rope: RopeSpec): Float32Array {
  const half = headDim / 2;
  const inverse = new Float32Array(half);
  for (let i = 0; i < half; i++) inverse[i] = f32(1 / f32(Math.pow(f32(rope.theta), f32((2 * i) / headDim))));
  if (rope.type === 'linear') for (let i = 0; i < half; i++) inverse[i] = f32(inverse[i]! / rope.factor);
  if (rope.type === 'llama3') {
    // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, the band between interpolated.
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = rope;
    const lowFreqWavelength = originalMaxPositions / lowFreqFactor;
    const highFreqWavelength = originalMaxPositions / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const frequency = inverse[i]!;
      const wavelength = f32(f32(2 * Math.PI) / frequency);
      let scaled = wavelength > lowFreqWavelength ? f32(frequency / factor) : frequency;
      const medium = !(wavelength < highFreqWavelength) && !(wavelength > lowFreqWavelength);
      if (medium) {
        const smooth = f32(f32(f32(originalMaxPositions / wavelength) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
        scaled = f32(f32(f32(f32(1 - smooth) * scaled) / factor) + f32(smooth * scaled));
      }
      inverse[i] = scaled;
    }
  }
  return inverse;
}

/**
 * cos and sin of every angle, one row per position.
 * @param positions (N) position ids
 * @returns cos, sin: (N, headDim) row-major, the frequencies repeated over both halves
 *
 * @example
 * const { cos, sin } = ropeTables(new Int32Array([0, 1, 2]), ropeInverseFrequencies(64, spec.rope!)); // (3, 64) each
 */
export function ropeTables(positions: Int32Array, inverseFrequencies: Float32Array): { cos: Float32Array; sin: Float32Array } {
  const half = inverseFrequencies.length;
  const headDim = 2 * half;
  const cos = new Float32Array(positions.length * headDim);
  const sin = new Float32Array(positions.length * headDim);
  for (let n = 0; n < positions.length; n++) {
    for (let i = 0; i < half; i++) {
      const angle = f32(positions[n]! * inverseFrequencies[i]!);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[n * headDim + i] = c;
      cos[n * headDim + half + i] = c;
      sin[n * headDim + i] = s;
      sin[n * headDim + half + i] = s;
    }
  }
  return { cos, sin };
}

/**
 * Rotates every head of x by its row's angles.
 * @param x (N, H, d) one row per token, H heads
 * @param cos (N, 1, d), sin (N, 1, d) from `ropeTables`
 * @returns (N, H, d)
 *
 * @example
 * const { cos, sin } = ropeTables(positions, ropeInverseFrequencies(d, spec.rope!));
 * const rotated = applyRope(q, tf.tensor3d(cos, [N, 1, d]), tf.tensor3d(sin, [N, 1, d]));
 */
export function applyRope(x: tf.Tensor3D, cos: tf.Tensor3D, sin: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [first, second] = tf.split(x, 2, 2);
    const rotated = tf.concat([tf.neg(second!), first!], 2);
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor3D;
  });
}
