import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.ts';
import { ResourcePool, actorResources, sumResources, validateResources } from '../../runtime/resources.ts';
import { thrownBy } from '../expect-error.ts';

describe('resources', () => {
  it('adds fractions exactly: ten actors of CPU 0.1 fill one CPU and an eleventh does not fit', () => {
    const pool = new ResourcePool({ CPU: 1 });
    for (let index = 0; index < 10; index++) expect(pool.allocate({ CPU: 0.1 })).toBeDefined();
    expect(pool.allocate({ CPU: 0.1 })).toBeUndefined();
    expect(pool.freeResources().CPU).toBe(0);
    expect(sumResources([{ CPU: 0.1 }, { CPU: 0.2 }]).CPU).toBe(0.3);
  });

  it('gives whole GPUs idle devices and packs fractional GPUs onto one device', () => {
    const pool = new ResourcePool({ GPU: 2 }, ['4', '5']);
    const half = pool.allocate({ GPU: 0.5 });
    const quarter = pool.allocate({ GPU: 0.25 });
    expect([...half!.gpus.keys()]).toEqual([...quarter!.gpus.keys()]);
    expect(pool.allocate({ GPU: 2 })).toBeUndefined();
    const whole = pool.allocate({ GPU: 1 });
    expect(pool.gpuIds[[...whole!.gpus.keys()][0]!]).toBe('5');
    pool.release(half!);
    pool.release(quarter!);
    expect(pool.allocate({ GPU: 1 })).toBeDefined();
  });

  it('never charges an actor less than 0.01 CPU and defaults to one CPU', () => {
    expect(actorResources(undefined, 'r')).toEqual({ CPU: 1 });
    expect(actorResources({ CPU: 0.01, GPU: 1 }, 'r')).toEqual({ CPU: 0.01, GPU: 1 });
    expect(() => actorResources({ CPU: 0.001 }, 'r')).toThrow(/below the minimum of 0.01 CPU/);
  });

  it('reports every bad entry with its path', () => {
    const error = thrownBy(() => validateResources({ CPU: -1, GPU: 1.5, 'bad name': 1, memory: Number.NaN }, 'resources'), ConfigError);
    expect(error.issues.map((issue) => issue.path)).toEqual(['resources.CPU', 'resources.GPU', 'resources.bad name', 'resources.memory']);
  });

  it('names what is missing', () => {
    const pool = new ResourcePool({ CPU: 2, GPU: 1 });
    pool.allocate({ CPU: 1.5 });
    expect(pool.shortfall({ CPU: 1, GPU: 1 })).toEqual(['CPU: need 1, free 0.5']);
  });
});
