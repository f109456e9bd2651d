import { describe, expect, it } from 'vitest';
import { Adam } from '../../models/index.ts';
import { expectClose } from './backends.ts';

// Expected values: torch.optim.Adam/AdamW's update rule in float64 numpy (two steps, lr 0.1).
const GRADIENTS = [Float32Array.from([0.1, -0.2, 0]), Float32Array.from([0.3, 0.1, -0.5])];

function run(adam: Adam, start: number[], gradients: Float32Array[]): number[][] {
  const parameters = Float32Array.from(start);
  return gradients.map((gradient) => {
    adam.step(parameters, gradient);
    return Array.from(parameters);
  });
}

describe('Adam', () => {
  it('matches hand-computed values for two steps (bias-corrected moments)', () => {
    const steps = run(new Adam(3, { learningRate: 0.1 }), [1, -2, 0.5], GRADIENTS);
    expectClose(steps[0]!, [0.90000001, -1.900000005, 0.5], 1e-6);
    expectClose(steps[1]!, [0.8082219022055899, -1.873366302718676, 0.5744136802524877], 1e-6);
  });

  it('decoupled weight decay (AdamW) and L2 weight decay differ as specified', () => {
    const adamW = run(new Adam(3, { learningRate: 0.1, weightDecay: 0.1 }), [1, -2, 0.5], GRADIENTS);
    expectClose(adamW[1]!, [0.7893219021055898, -1.834566302668676, 0.5644636802524877], 1e-6);
    const l2 = run(new Adam(3, { learningRate: 0.1, weightDecay: 0.1, decoupledWeightDecay: false }), [1, -2, 0.5], GRADIENTS);
    expectClose(l2[1]!, [0.8032147551675831, -1.8182875546773098, 0.46674138448269775], 1e-6);
  });

  it('clips the global gradient norm before the moments see it', () => {
    const adam = new Adam(2, { learningRate: 0.1, maxGradNorm: 0.1 });
    const parameters = Float32Array.from([1, -2]);
    const first = adam.step(parameters, Float32Array.from([3, 4]));
    expect(first.gradNorm).toBeCloseTo(5, 6);
    expect(first.clipScale).toBeCloseTo(0.1 / (5 + 1e-6), 9);
    const second = adam.step(parameters, Float32Array.from([0.03, 0.04]));
    expect(second.clipScale).toBe(1);
    // Unclipped, the same two steps end at [0.83225, -2.16775]: clipping changed the moments.
    expectClose(Array.from(parameters), [0.8067820695138271, -2.1932179395665936], 1e-6);
  });

  it('state round-trips: a restored optimizer continues exactly', () => {
    const a = new Adam(3, { learningRate: 0.05 });
    const parameters = Float32Array.from([1, 2, 3]);
    a.step(parameters, GRADIENTS[0]!);
    const b = new Adam(3, { learningRate: 0.05 });
    b.loadState(a.state());
    const copy = parameters.slice();
    a.step(parameters, GRADIENTS[1]!);
    b.step(copy, GRADIENTS[1]!);
    expect(Array.from(copy)).toEqual(Array.from(parameters));
    expect(b.steps).toBe(2);
  });

  it('rejects bad hyperparameters and mismatched buffers with the field named', () => {
    expect(() => new Adam(3, { beta1: 1 })).toThrow(/optimizer.beta1: must be in \[0, 1\), got 1/);
    expect(() => new Adam(3).step(new Float32Array(3), new Float32Array(2))).toThrow(/built for 3 parameters; got parameters 3, gradients 2/);
    expect(() => new Adam(2).step(new Float32Array(2), Float32Array.from([NaN, 0]))).toThrow(/gradient norm is NaN/);
  });
});
