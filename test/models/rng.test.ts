import { describe, expect, it } from 'vitest';
import { Rng } from '../../models/rng.ts';

describe('Rng', () => {
  it('same seed gives the same stream, different seeds differ', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const drawsA = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(drawsA);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(drawsA);
  });

  it('a generator restored from its state continues the exact stream', () => {
    const rng = new Rng(123);
    for (let i = 0; i < 10; i++) rng.uniform();
    const restored = Rng.fromState(rng.state());
    expect(Array.from({ length: 20 }, () => restored.normal())).toEqual(Array.from({ length: 20 }, () => rng.normal()));
  });

  it('uniform draws stay in [0, 1) and have mean near 1/2; normals have unit variance', () => {
    const rng = new Rng(1);
    let sum = 0;
    let sumSquares = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      const z = rng.normal();
      sumSquares += z * z;
    }
    expect(sum / n).toBeCloseTo(0.5, 1);
    expect(sumSquares / n).toBeCloseTo(1, 1);
  });

  it('permutation contains every index once', () => {
    const perm = new Rng(5).permutation(50);
    expect([...perm].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
