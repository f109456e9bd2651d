import type { TypedArray } from '../value-codec.ts';

/** Where an object's bytes are: shared memory, or the spill directory on disk. */
export type ObjectLocation = 'shm' | 'spill';

/** Cluster mode: where an object owned on another node is fetched from (its home) and whose it is. */
export interface ObjectHint {
  /** gRPC address of the owner's node agent (or driver). */
  home: string;
  ownerName: string;
}

/** The store operations an ObjectRef needs from its process (see `object-client.ts`). */
export interface ObjectResolver {
  get(ref: ObjectRef<unknown>, options?: GetOptions): Promise<unknown>;
  release(ref: ObjectRef<unknown>): void;
}

export interface GetOptions {
  /** For an object that is one typed array: read into this array (same type and length) instead of allocating. */
  into?: TypedArray;
}

/**
 * A reference to an immutable object in the store, owned by the process that `put` it. Pass refs, not values:
 * as call arguments they cost a few bytes, and the callee reads the bytes only when it calls `get` (refs are
 * resolved lazily by the callee). Every ref held anywhere keeps the object alive; the object is freed when the
 * last ref is released (explicitly with `release()`, or when it is garbage collected). When the owner dies, the
 * object dies with it and `get` rejects with an `ObjectLostError` naming the owner.
 *
 * @example
 * const ref = await runtime.put(new Float32Array([1, 2, 3]));
 * const weights = await ref.get(); // Float32Array [1, 2, 3]
 * ref.release();
 */
export class ObjectRef<T = unknown> {
  /** Phantom: carries the stored value's type for `get`. */
  declare readonly __type?: T;
  private released = false;
  private retained = false;
  /** Why this instance was released automatically (for the error a later `get` raises). */
  private releaseReason: string | undefined;

  constructor(
    /** Unique id, e.g. `w3-17`. */
    readonly id: string,
    /** Process id of the owner (`driver`, `w3`). */
    readonly owner: string,
    /** The owner's human name: `driver` or the actor's name. */
    readonly ownerName: string,
    readonly location: ObjectLocation,
    /** Size of the stored object in bytes. */
    readonly bytes: number,
    private readonly resolver: ObjectResolver,
    /** Cluster mode: the address the object is fetched from by other nodes (its owner's node agent or driver). */
    readonly home?: string,
  ) {}

  /** Read the value (from shared memory in this process; no copy through any other process). */
  get(options?: GetOptions): Promise<T> {
    return this.resolver.get(this, options) as Promise<T>;
  }

  /** Drop this reference now instead of waiting for garbage collection. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.resolver.release(this);
  }

  /**
   * Keep this ref beyond the actor call it arrived in (or after returning it). Inside an actor, refs received as
   * arguments are borrowed for the call and released when it returns, and refs returned from a method move to
   * the caller; without this, memory would wait for garbage collection in every process that ever saw the ref.
   */
  retain(): this {
    this.retained = true;
    return this;
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** Why `get` on a released ref fails. */
  get releasedBecause(): string {
    return this.releaseReason ?? 'release() was called on it';
  }

  /** @internal Release at the end of a call unless `retain()` was called. */
  releaseUnlessRetained(reason: string): void {
    if (this.retained || this.released) return;
    this.releaseReason = reason;
    this.release();
  }

  toString(): string {
    return `ObjectRef(${this.id}, owner ${this.ownerName}, ${this.bytes} bytes)`;
  }
}
