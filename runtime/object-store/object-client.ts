import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ObjectLostError, ObjectStoreError } from '../runtime-errors.ts';
import { encodeValue, type ValueHooks } from '../value-codec.ts';
import type { ObjectStatus, ReferenceOperation } from './object-directory.ts';
import { objectFileBytes, readObjectFile, writeObjectFile } from './object-file.ts';
import { ObjectRef, type GetOptions, type ObjectHint, type ObjectLocation, type ObjectResolver } from './object-ref.ts';

/** What a process needs from the head to use the store (in-process on the driver, over RPC in a worker). */
export interface ObjectControl {
  reserve(owner: string, ownerName: string, bytes: number): Promise<{ id: string; location: ObjectLocation }>;
  relocate(id: string, location: ObjectLocation): void;
  /** Report reference operations (batched by the caller). */
  references(client: string, operations: ReferenceOperation[]): void;
  /** Where the object is; `hint` (cluster mode) names its home when it is owned on another node. */
  locate(id: string, hint?: ObjectHint): Promise<ObjectStatus>;
}

/** Wire form of a ref inside a value: enough to read it and to name its owner, plus the transfer token. */
export interface RefData {
  id: string;
  owner: string;
  ownerName: string;
  location: ObjectLocation;
  bytes: number;
  token: string;
  /** Cluster mode: the object's home (see `ObjectRef.home`). */
  home?: string;
}

/**
 * A process's view of the object store: `put` writes the object file itself (no other process touches the bytes),
 * `get` reads it straight from shared memory. Reference counting is per ref instance: every ObjectRef object in
 * this process counts once at the head until it is released or garbage collected.
 *
 * @example
 * const ref = await client.put({ rewards: new Float32Array(64) });
 * const value = await client.get(ref);
 */
export class ObjectClient implements ObjectResolver {
  private operations: ReferenceOperation[] = [];
  private flushScheduled = false;
  private nextToken = 1;
  private readonly finalizer = new FinalizationRegistry<string>((id) => this.report(['r', id]));

  constructor(
    /** This process's id (`driver`, `w3`). */
    readonly clientId: string,
    /** The name objects owned here are reported under: `driver` or the actor's name. */
    readonly clientName: string,
    private readonly control: ObjectControl,
    private readonly directories: { shm: string; spill: string },
    /** Cluster mode: this node's object home, stamped on every object put here. */
    private readonly home?: string,
  ) {}

  async put<T>(value: T): Promise<ObjectRef<T>> {
    if (value instanceof ObjectRef) throw new ObjectStoreError('PUT_INVALID', 'put of an ObjectRef: pass the ref itself instead of storing it');
    const encoded = encodeValue(value, refusingRefs);
    const bytes = objectFileBytes(encoded);
    const { id, location: planned } = await this.control.reserve(this.clientId, this.clientName, bytes);
    let location = planned;
    try {
      writeObjectFile(this.path(id, location), encoded);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC' || location === 'spill') throw this.failPut(id, location, error);
      // Shared memory filled up behind the budget's back (another tenant of /dev/shm): spill instead of dying.
      rmSync(this.path(id, location), { force: true });
      location = 'spill';
      try {
        writeObjectFile(this.path(id, location), encoded);
      } catch (spillError) {
        throw this.failPut(id, location, spillError);
      }
      this.control.relocate(id, location);
    }
    return this.track(new ObjectRef<T>(id, this.clientId, this.clientName, location, bytes, this, this.home));
  }

  async get(ref: ObjectRef<unknown>, options: GetOptions = {}): Promise<unknown> {
    if (ref.isReleased) throw new ObjectStoreError('REF_RELEASED', `get of ${ref.id} after it was released (${ref.releasedBecause}); keep the ref (retain() inside an actor) until you are done with it`, ref.id);
    try {
      return readObjectFile(this.path(ref.id, ref.location), refusingRefs, options.into);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // The file may have moved to the spill directory (shared memory was full when it was written).
    if (ref.location === 'shm') {
      try {
        return readObjectFile(this.path(ref.id, 'spill'), refusingRefs, options.into);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    // On another node's object, the node fetches a copy here first (once, however many processes ask).
    const status = await this.control.locate(ref.id, this.isForeign(ref.home) ? { home: ref.home as string, ownerName: ref.ownerName } : undefined);
    if (status.status === 'lost') throw new ObjectLostError(ref.id, status.owner, `its owner ${status.owner} died (${status.reason})`);
    if (status.status === 'present') return readObjectFile(this.path(ref.id, status.location), refusingRefs, options.into);
    throw new ObjectLostError(ref.id, ref.ownerName, 'it was freed (every ref to it was released) or its owner died');
  }

  release(ref: ObjectRef<unknown>): void {
    this.finalizer.unregister(ref);
    this.report(['r', ref.id]);
  }

  /** Encode a ref being sent to process `target`; the transfer is announced before the frame leaves. */
  encodeRef(ref: ObjectRef<unknown>, target: string): RefData {
    if (ref.isReleased) throw new ObjectStoreError('REF_RELEASED', `cannot send ${ref.id} after it was released (${ref.releasedBecause})`, ref.id);
    const token = `${this.clientId}:${this.nextToken++}`;
    this.report(['t', ref.id, token, target]);
    return { id: ref.id, owner: ref.owner, ownerName: ref.ownerName, location: ref.location, bytes: ref.bytes, token, ...(ref.home === undefined ? {} : { home: ref.home }) };
  }

  /** A ref arrived in a call or a result: this process now holds it. */
  decodeRef(data: RefData): ObjectRef<unknown> {
    // A claim of another node's object names its home, so that this node can count the ref there too.
    this.report(this.isForeign(data.home) ? ['c', data.id, data.token, data.home as string, data.ownerName] : ['c', data.id, data.token]);
    return this.track(new ObjectRef(data.id, data.owner, data.ownerName, data.location, data.bytes, this, data.home));
  }

  private isForeign(home: string | undefined): boolean {
    return home !== undefined && home !== this.home;
  }

  /** Send queued reference operations now (before the process exits or the runtime shuts down). */
  flush(): void {
    this.flushScheduled = false;
    if (this.operations.length === 0) return;
    const operations = this.operations;
    this.operations = [];
    this.control.references(this.clientId, operations);
  }

  private track<T>(ref: ObjectRef<T>): ObjectRef<T> {
    this.finalizer.register(ref, ref.id, ref);
    return ref;
  }

  private report(operation: ReferenceOperation): void {
    this.operations.push(operation);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private failPut(id: string, location: ObjectLocation, error: unknown): Error {
    this.report(['r', id]);
    return new ObjectStoreError('PUT_FAILED', `could not write object ${id} to ${this.path(id, location)}: ${(error as Error).message}`, id);
  }

  private path(id: string, location: ObjectLocation): string {
    return join(location === 'shm' ? this.directories.shm : this.directories.spill, id);
  }
}

/** Stored objects are self-contained: refs inside a put value are refused (pass them as call arguments instead). */
const refusingRefs: ValueHooks = {
  encodeSpecial(value) {
    if (value instanceof ObjectRef) throw new ObjectStoreError('PUT_INVALID', 'an ObjectRef inside a put value is not supported; pass refs as call arguments');
    return undefined;
  },
};
