/**
 * Actors for the cross-node object benchmark in bench/collectives.ts (files starting with `_` are helpers, not
 * benchmarks): one puts objects on its node, another reads them from a different node and times each `get`.
 */
import { actorContext } from '../runtime/actor-context.ts';
import type { ObjectRef } from '../runtime/object-store/object-ref.ts';

export class ObjectBench {
  private readonly kept: ObjectRef<Float32Array>[] = [];

  /** Put a fresh object of `elements` floats; it is owned here, on this actor's node. */
  async make(elements: number, fill: number): Promise<ObjectRef<Float32Array>> {
    return actorContext().runtime.put(new Float32Array(elements).fill(fill));
  }

  /** Seconds from `get` to the value in hand (the first get of an object on this node includes its transfer). */
  async timeGet(ref: ObjectRef<Float32Array>): Promise<{ seconds: number; last: number }> {
    const start = process.hrtime.bigint();
    const value = await ref.get();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    this.kept.length = 0;
    return { seconds, last: value[value.length - 1] as number };
  }
}
