import { actorContext, type ObjectRef } from '../index.ts';

/**
 * An example actor for the README quick start: one role, async methods, refs resolved by the callee, and results
 * stored in the object store by the actor that produced them.
 */
export class Accumulator {
  private total = 0;

  constructor(private readonly label: string) {}

  /** Reads the array behind `ref` (the callee fetches it; the driver never touches the bytes). */
  async sum(ref: ObjectRef<Float32Array>): Promise<number> {
    const values = await ref.get();
    for (const value of values) this.total += value;
    return this.total;
  }

  /** Stores a scaled copy owned by this actor and hands back only the ref. */
  async scale(ref: ObjectRef<Float32Array>, factor: number): Promise<ObjectRef<Float32Array>> {
    const values = await ref.get();
    return actorContext().runtime.put(values.map((value) => value * factor));
  }

  describe(): string {
    const { name, group, gpuIds, nodeId } = actorContext();
    return `${this.label} ${name} rank ${group?.rank} on ${nodeId} with CUDA_VISIBLE_DEVICES=${gpuIds.join(',')}`;
  }
}
