/**
 * Shared inputs of the algorithm tests. Expected values in the tests were computed independently with numpy
 * (float64, explicit loops; script in the commit message of the tests) and hard-coded.
 */
import * as tf from '@tensorflow/tfjs-core';

/** (3, 4): row 0 has 3 real tokens, row 1 has 2, row 2 none (all padding). */
export const MASK = [
  [1, 1, 1, 0],
  [1, 1, 0, 0],
  [0, 0, 0, 0],
];

export const mask = () => tf.tensor2d(MASK);
export const matrix = (rows: number[][]) => tf.tensor2d(rows);
