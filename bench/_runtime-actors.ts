import type { ActorHandle } from '../runtime/actor/actor-handle.ts';
import type { ObjectRef } from '../runtime/object-store/object-ref.ts';

/** Actor used by `bench/runtime.ts` (the leading underscore keeps it out of the benchmark list). */
export class BenchActor {
  private count = 0;

  noop(): number {
    return ++this.count;
  }

  /** n:n: call every target `calls` times, all pipelined; returns the number of calls made. */
  async hammer(targets: ActorHandle<BenchActor>[], calls: number): Promise<number> {
    const pending: Promise<number>[] = [];
    for (let index = 0; index < calls; index++) for (const target of targets) pending.push(target.call('noop'));
    await Promise.all(pending);
    return pending.length;
  }

  /** Seconds per cross-process get of `ref`, best of `repeats`; `into` reuses one destination array. */
  async timeGet(ref: ObjectRef<Float32Array>, length: number, repeats: number, into: boolean): Promise<number> {
    const target = into ? new Float32Array(length) : undefined;
    let best = Number.POSITIVE_INFINITY;
    for (let index = 0; index < repeats; index++) {
      const started = performance.now();
      const value = await ref.get(target === undefined ? {} : { into: target });
      best = Math.min(best, (performance.now() - started) / 1000);
      if (value.length !== length || (target !== undefined && value !== target)) throw new Error('get returned the wrong array');
    }
    return best;
  }
}
