/** Standard test functions for samplers (all minimised). */

/** Branin-Hoo on x in [-5, 10], y in [0, 15]; global minimum 0.397887 at three points. */
export function branin(x: number, y: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (y - b * x ** 2 + c * x - 6) ** 2 + 10 * (1 - t) * Math.cos(x) + 10;
}

const HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2];
const HARTMANN_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const HARTMANN_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((row) => row.map((value) => value * 1e-4));

/** Hartmann-6 on [0, 1]^6; global minimum -3.32237. */
export function hartmann6(x: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += HARTMANN_A[i]![j]! * (x[j]! - HARTMANN_P[i]![j]!) ** 2;
    total += HARTMANN_ALPHA[i]! * Math.exp(-inner);
  }
  return -total;
}

/** A sphere shifted off-centre: sum (x_i - shift_i)^2 on [-5, 5]^d; minimum 0. */
export function shiftedSphere(x: readonly number[]): number {
  return x.reduce((sum, value, i) => sum + (value - (1.5 - 0.7 * i)) ** 2, 0);
}
