/**
 * TensorBoard's scalar smoothing: an exponential moving average with debiasing, so the first points are not pulled
 * towards zero (tensorboard/webapp/widgets/line_chart_v2/lib/data_transformer.ts, `classicSmoothing`).
 * Non-finite values pass through unsmoothed and do not disturb the average.
 *
 * @example
 * smooth([1, 2, 3], 0.6); // [1, 1.625, 2.26...]
 */
export function smooth(values: number[], weight: number): number[] {
  let last = 0;
  let updates = 0;
  return values.map((value) => {
    if (!Number.isFinite(value)) return value;
    last = last * weight + (1 - weight) * value;
    updates += 1;
    const debias = weight === 1 ? 1 : 1 - weight ** updates;
    return last / debias;
  });
}
