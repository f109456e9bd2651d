import { ConfigError } from './errors.ts';

/**
 * Logical resources, Ray-style: `CPU`, `GPU`, `memory` (bytes) and any custom label (e.g. `nvlink_group_0`).
 * Amounts may be fractional. They are bookkeeping, not limits: a node advertises them, actors and placement-group
 * bundles reserve them, and the scheduler never over-commits them.
 *
 * Amounts are kept in fixed point (1/10,000 of a unit) so that ten actors of `CPU: 0.1` add up to exactly one CPU,
 * as Ray does; floating-point sums would strand or over-commit capacity after enough allocations.
 *
 * @example
 * const request = validateResources({ CPU: 0.5, GPU: 1 }, 'resources');
 */
export type Resources = Record<string, number>;

/** Every actor costs at least this much CPU: a node cannot be flooded with "free" actors (Ray's `num_cpus=0` scar). */
export const MINIMUM_ACTOR_CPU = 0.01;

/** Fixed-point scale: amounts are stored as integers of 1/10,000. */
export const RESOURCE_SCALE = 10_000;

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

export function toUnits(amount: number): number {
  return Math.round(amount * RESOURCE_SCALE);
}

export function fromUnits(units: number): number {
  return units / RESOURCE_SCALE;
}

/**
 * Check a resource map; throws a `ConfigError` naming each bad entry. GPU amounts above 1 must be whole (a fraction
 * of one GPU can be shared; 1.5 GPUs cannot be), as in Ray.
 */
export function validateResources(resources: unknown, path: string): Resources {
  const issues: { path: string; message: string }[] = [];
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) {
    throw new ConfigError([{ path, message: `must be an object like { CPU: 1, GPU: 0.5 }, got ${JSON.stringify(resources)}` }]);
  }
  for (const [name, amount] of Object.entries(resources as Record<string, unknown>)) {
    if (!NAME.test(name)) issues.push({ path: `${path}.${name}`, message: 'resource names are letters, digits, _ . : - and start with a letter or _' });
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
      issues.push({ path: `${path}.${name}`, message: `must be a finite number >= 0, got ${JSON.stringify(amount)}` });
    } else if (name === 'GPU' && amount > 1 && !Number.isInteger(amount)) {
      issues.push({ path: `${path}.GPU`, message: `fractions are allowed only below 1 GPU (shared GPU); got ${amount}` });
    } else if (amount > 0 && toUnits(amount) === 0) {
      issues.push({ path: `${path}.${name}`, message: `${amount} is below the resolution of ${1 / RESOURCE_SCALE}` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return resources as Resources;
}

/** An actor's request with the defaults applied: `CPU: 1` unless given, never below `MINIMUM_ACTOR_CPU`. */
export function actorResources(requested: Resources | undefined, path: string): Resources {
  const resources = validateResources(requested ?? {}, path);
  const cpu = resources.CPU ?? 1;
  if (cpu < MINIMUM_ACTOR_CPU) {
    throw new ConfigError([
      { path: `${path}.CPU`, message: `${cpu} is below the minimum of ${MINIMUM_ACTOR_CPU} CPU per actor (an actor is never free: use e.g. CPU: 0.01)` },
    ]);
  }
  return { ...resources, CPU: cpu };
}

/** The resources granted to one allocation, including which GPU instances (by index into the pool's GPU list). */
export interface Allocation {
  /** Resource name -> units. */
  units: Map<string, number>;
  /** GPU index -> units taken on that GPU (10,000 = the whole GPU). */
  gpus: Map<number, number>;
}

/**
 * A node's (or a bundle's) capacity and what is free. GPUs are tracked per device so that a fractional GPU shares
 * one device and `CUDA_VISIBLE_DEVICES` can name exactly the devices an actor was given.
 */
export class ResourcePool {
  readonly total: Map<string, number>;
  readonly free: Map<string, number>;
  /** Free units per GPU device (10,000 = idle). */
  readonly gpuFree: number[];
  /** Device id of each GPU, e.g. `['0', '1']`; logical nodes may map to any ids. */
  readonly gpuIds: string[];

  constructor(resources: Resources, gpuIds?: string[]) {
    this.total = new Map();
    for (const [name, amount] of Object.entries(resources)) this.total.set(name, toUnits(amount));
    this.free = new Map(this.total);
    const gpuCount = Math.floor(resources.GPU ?? 0);
    this.gpuIds = gpuIds ?? Array.from({ length: gpuCount }, (_, index) => String(index));
    this.gpuFree = this.gpuIds.map(() => RESOURCE_SCALE);
  }

  /** A pool carved out of an allocation (a placement-group bundle): its GPUs are the devices the bundle holds. */
  static fromAllocation(allocation: Allocation, parent: ResourcePool): ResourcePool {
    const pool = new ResourcePool({});
    for (const [name, units] of allocation.units) {
      pool.total.set(name, units);
      pool.free.set(name, units);
    }
    for (const [index, units] of allocation.gpus) {
      pool.gpuIds.push(parent.gpuIds[index] as string);
      pool.gpuFree.push(units);
    }
    return pool;
  }

  clone(): ResourcePool {
    const copy = new ResourcePool({});
    for (const [name, units] of this.total) copy.total.set(name, units);
    for (const [name, units] of this.free) copy.free.set(name, units);
    copy.gpuIds.push(...this.gpuIds);
    copy.gpuFree.push(...this.gpuFree);
    return copy;
  }

  /** A pool with everything free: "could this ever fit here?" */
  emptied(): ResourcePool {
    const copy = this.clone();
    for (const [name, units] of this.total) copy.free.set(name, units);
    copy.gpuFree.fill(RESOURCE_SCALE);
    return copy;
  }

  /** Take `request` or return undefined (nothing changes) when it does not fit. */
  allocate(request: Resources): Allocation | undefined {
    const units = this.freeUnitsFor(request);
    const gpus = units && this.pickGpus(units.get('GPU') ?? 0);
    return units && gpus && this.take({ units, gpus });
  }

  /**
   * Take `request` on the named GPU devices (a restarted cluster head re-reserving what running actors already
   * use, so that `CUDA_VISIBLE_DEVICES` and the books agree); undefined when they are not free.
   */
  allocateDevices(request: Resources, gpuIds: readonly string[]): Allocation | undefined {
    const wantedGpu = toUnits(request.GPU ?? 0);
    if (gpuIds.length === 0 || wantedGpu === 0) return this.allocate(request);
    const perDevice = wantedGpu >= RESOURCE_SCALE ? RESOURCE_SCALE : wantedGpu;
    const gpus = new Map<number, number>();
    for (const id of gpuIds) {
      const index = this.gpuIds.indexOf(id);
      if (index < 0 || (this.gpuFree[index] ?? 0) < perDevice) return undefined;
      gpus.set(index, perDevice);
    }
    const units = this.freeUnitsFor(request);
    return units && this.take({ units, gpus });
  }

  release(allocation: Allocation): void {
    this.add(allocation, 1);
  }

  /** `request` in units, each checked to be free (zero amounts left out); undefined when one is not. */
  private freeUnitsFor(request: Resources): Map<string, number> | undefined {
    const units = new Map<string, number>();
    for (const [name, amount] of Object.entries(request)) {
      const wanted = toUnits(amount);
      if (wanted === 0) continue;
      if ((this.free.get(name) ?? 0) < wanted) return undefined;
      units.set(name, wanted);
    }
    return units;
  }

  /** Books an allocation already checked to fit. */
  private take(allocation: Allocation): Allocation {
    this.add(allocation, -1);
    return allocation;
  }

  /** Adds (sign 1, a release) or subtracts (sign -1, a take) an allocation's units to what is free. */
  private add(allocation: Allocation, sign: 1 | -1): void {
    for (const [name, units] of allocation.units) this.free.set(name, (this.free.get(name) ?? 0) + sign * units);
    for (const [index, units] of allocation.gpus) this.gpuFree[index] = (this.gpuFree[index] ?? 0) + sign * units;
  }

  fits(request: Resources): boolean {
    const allocation = this.allocate(request);
    if (allocation === undefined) return false;
    this.release(allocation);
    return true;
  }

  /** What is missing for `request`, one line per resource, e.g. `GPU: need 2, free 1`. */
  shortfall(request: Resources): string[] {
    const missing: string[] = [];
    for (const [name, amount] of Object.entries(request)) {
      const free = fromUnits(this.free.get(name) ?? 0);
      if (toUnits(amount) > (this.free.get(name) ?? 0)) missing.push(`${name}: need ${amount}, free ${free}`);
    }
    if (missing.length === 0 && !this.fits(request)) missing.push(`GPU: no single device has ${request.GPU} free`);
    return missing;
  }

  freeResources(): Resources {
    return toResources(this.free);
  }

  totalResources(): Resources {
    return toResources(this.total);
  }

  /** Whole GPUs take idle devices; a fraction takes the fullest device that still has room (best fit, as Ray). */
  private pickGpus(wanted: number): Map<number, number> | undefined {
    const picked = new Map<number, number>();
    if (wanted === 0) return picked;
    if (wanted >= RESOURCE_SCALE) {
      for (let index = 0; index < this.gpuFree.length && picked.size * RESOURCE_SCALE < wanted; index++) {
        if (this.gpuFree[index] === RESOURCE_SCALE) picked.set(index, RESOURCE_SCALE);
      }
      return picked.size * RESOURCE_SCALE >= wanted ? picked : undefined;
    }
    let best = -1;
    for (let index = 0; index < this.gpuFree.length; index++) {
      const free = this.gpuFree[index] as number;
      if (free >= wanted && (best < 0 || free < (this.gpuFree[best] as number))) best = index;
    }
    if (best < 0) return undefined;
    picked.set(best, wanted);
    return picked;
  }
}

function toResources(units: Map<string, number>): Resources {
  const resources: Resources = {};
  for (const [name, amount] of units) resources[name] = fromUnits(amount);
  return resources;
}

/** Sum of several requests (what a STRICT_PACK group needs from one node). */
export function sumResources(requests: readonly Resources[]): Resources {
  const total: Resources = {};
  for (const request of requests) {
    for (const [name, amount] of Object.entries(request)) total[name] = fromUnits(toUnits(total[name] ?? 0) + toUnits(amount));
  }
  return total;
}
