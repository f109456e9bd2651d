/**
 * The order in which a training batch is visited: `epochs` permutations of its rows, cut into minibatches. The
 * driver draws it from its own seeded generator (so it is part of the checkpointed state) and every role and
 * every data-parallel rank walks the same plan.
 */
import { Rng } from '../../models/rng.ts';

export interface MinibatchPlan {
  /** (epochs * B) row indices: epoch e's permutation is [e * B, (e + 1) * B). */
  order: Int32Array;
  /** B, rows of the batch. */
  batchSize: number;
  epochs: number;
  /** Rows per minibatch; divides B. */
  minibatchSize: number;
}

/**
 * @example
 * const plan = drawMinibatchPlan(rng, { batchSize: 64, epochs: 4, minibatchSize: 16 });
 */
export function drawMinibatchPlan(rng: Rng, sizes: { batchSize: number; epochs: number; minibatchSize: number }): MinibatchPlan {
  const order = new Int32Array(sizes.epochs * sizes.batchSize);
  for (let epoch = 0; epoch < sizes.epochs; epoch++) order.set(rng.permutation(sizes.batchSize), epoch * sizes.batchSize);
  return { order, ...sizes };
}

/** Every minibatch of the plan, in order, as row-index arrays. */
export function* minibatches(plan: MinibatchPlan): Generator<Int32Array> {
  for (let start = 0; start < plan.order.length; start += plan.minibatchSize) {
    yield plan.order.subarray(start, start + plan.minibatchSize);
  }
}

/**
 * This rank's contiguous share of a minibatch's rows (ranks get sizes differing by at most one).
 *
 * @example
 * rankRows(Int32Array.of(5, 2, 7, 1, 0), 0, 2); // [5, 2]
 * rankRows(Int32Array.of(5, 2, 7, 1, 0), 1, 2); // [7, 1, 0]
 */
export function rankRows(rows: Int32Array, rank: number, worldSize: number): Int32Array {
  const start = Math.floor((rows.length * rank) / worldSize);
  const end = Math.floor((rows.length * (rank + 1)) / worldSize);
  return rows.subarray(start, end);
}
