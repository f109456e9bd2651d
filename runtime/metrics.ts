import { Gauge, Histogram, Registry } from 'prom-client';
import type { Head } from './head/head.ts';
import type { ObjectDirectory } from './object-store/object-directory.ts';

/**
 * The runtime's Prometheus metrics, in a registry of its own (so two runtimes in one process, as in tests, never
 * collide): object-store bytes in shared memory and spilled, actors per state, placement groups waiting for
 * room, and the latency of calls made from this process.
 *
 * @example
 * const text = await runtime.metrics.metrics(); // Prometheus exposition format
 */
export class RuntimeMetrics {
  readonly registry = new Registry();
  private readonly callSeconds: Histogram<'role' | 'method'>;
  private readonly children = new Map<string, { observe(value: number): void }>();

  constructor(head: Head, objects: ObjectDirectory) {
    new Gauge({
      name: 'posttrain_object_store_bytes',
      help: 'Bytes of live objects, in shared memory (used) or in the spill directory (spilled).',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const usage = objects.usage();
        this.set({ state: 'used' }, usage.usedBytes);
        this.set({ state: 'spilled' }, usage.spilledBytes);
      },
    });
    new Gauge({
      name: 'posttrain_object_store_objects',
      help: 'Objects known to the store (live or lost but still referenced).',
      registers: [this.registry],
      collect() {
        this.set(objects.usage().objects);
      },
    });
    new Gauge({
      name: 'posttrain_actors',
      help: 'Actors by state: pending (waiting for resources), starting, alive, restarting, dead (remembered).',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        for (const [state, count] of Object.entries(head.actorCounts())) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'posttrain_placement_groups_pending',
      help: 'Placement groups waiting for resources.',
      registers: [this.registry],
      collect() {
        this.set(head.pendingPlacementGroups);
      },
    });
    this.callSeconds = new Histogram({
      name: 'posttrain_actor_call_seconds',
      help: 'Latency of actor calls made from this process, from call to result.',
      labelNames: ['role', 'method'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [this.registry],
    });
  }

  observeCall(role: string, method: string, seconds: number): void {
    const key = `${role}\u0000${method}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.callSeconds.labels(role, method);
      this.children.set(key, child);
    }
    child.observe(seconds);
  }
}
