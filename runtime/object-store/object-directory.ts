import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ObjectLocation } from './object-ref.ts';

/**
 * Reference operations a process reports, batched per tick:
 * - `['t', id, token, target]`: I am sending a ref to process `target` (a call argument or a result); `token`
 *   names this one transfer;
 * - `['c', id, token]`: I received the ref sent as `token` and now hold it (cluster mode adds the object's home
 *   and owner name when it lives on another node: `['c', id, token, home, ownerName]`);
 * - `['r', id]`: I released one ref.
 *
 * Transfers are matched by token, in whichever order the two reports arrive (they travel on different channels),
 * so an object in flight between two processes is never freed and never counted twice.
 */
export type ReferenceOperation = ['t', string, string, string] | ['c', string, string] | ['c', string, string, string, string] | ['r', string];

export type ObjectStatus =
  | { status: 'present'; location: ObjectLocation }
  | { status: 'lost'; owner: string; reason: string }
  /** Cluster mode: a copy of another node's object that has not been fetched yet. */
  | { status: 'remote'; home: string }
  | { status: 'unknown' };

interface Entry {
  owner: string;
  ownerName: string;
  bytes: number;
  location: ObjectLocation;
  /** Refs held per process. */
  holders: Map<string, number>;
  heldTotal: number;
  /** Transfers announced by the sender and not yet claimed: token -> receiving process. */
  transits: Map<string, string>;
  /** Set when the owner died: the reason given to `get`. */
  lost?: string;
  /** Cluster mode: this entry is a local copy of an object owned on the node at this address. */
  copyOf?: string;
  /** For a copy: whether its bytes are here yet (a copy is fetched on the first `get`). */
  fetched?: boolean;
}

export interface ObjectStoreUsage {
  usedBytes: number;
  spilledBytes: number;
  objects: number;
  budgetBytes: number;
}

/**
 * The head's table of objects: who owns each, who holds refs, where its bytes are, and the shared-memory budget.
 * An object is freed (file removed, bytes returned to the budget) when no process holds a ref and no transfer is
 * in flight. When a process dies, its refs are dropped and the objects it owned are lost (removed at once; a later
 * `get` learns why from `locate`).
 */
export class ObjectDirectory {
  private readonly entries = new Map<string, Entry>();
  /** Claims whose transfer announcement has not arrived yet: token -> object id. */
  private readonly earlyClaims = new Map<string, string>();
  private readonly dead = new Set<string>();
  private nextId = 1;
  private usedBytes = 0;
  private spilledBytes = 0;

  constructor(
    private readonly directories: { shm: string; spill: string },
    private readonly budgetBytes: number,
    /** Prefix of the ids reserved here (cluster nodes use their node id and epoch, so ids are unique cluster-wide). */
    private readonly idPrefix = '',
  ) {}

  /** Register a new object owned by `owner` (who holds the first ref) and decide where its bytes go. */
  reserve(owner: string, ownerName: string, bytes: number): { id: string; location: ObjectLocation } {
    const id = `${this.idPrefix}${owner}-${this.nextId++}`;
    const location: ObjectLocation = this.usedBytes + bytes <= this.budgetBytes ? 'shm' : 'spill';
    if (location === 'shm') this.usedBytes += bytes;
    else this.spilledBytes += bytes;
    this.entries.set(id, { owner, ownerName, bytes, location, holders: new Map([[owner, 1]]), heldTotal: 1, transits: new Map() });
    return { id, location };
  }

  /** The writer found shared memory full (ENOSPC) and wrote the object to the spill directory instead. */
  relocate(id: string, location: ObjectLocation): void {
    const entry = this.entries.get(id);
    if (!entry || entry.location === location) return;
    this.account(entry, -1);
    entry.location = location;
    this.account(entry, 1);
  }

  apply(client: string, operations: readonly ReferenceOperation[]): void {
    for (const operation of operations) {
      const entry = this.entries.get(operation[1]);
      switch (operation[0]) {
        case 't': {
          const [, id, token, target] = operation;
          if (this.earlyClaims.get(token) === id) {
            this.earlyClaims.delete(token);
          } else if (entry && !this.dead.has(target)) {
            entry.transits.set(token, target);
          }
          break;
        }
        case 'c': {
          const [, id, token] = operation;
          if (!entry) break;
          if (entry.transits.has(token)) entry.transits.delete(token);
          else this.earlyClaims.set(token, id);
          entry.holders.set(client, (entry.holders.get(client) ?? 0) + 1);
          entry.heldTotal++;
          break;
        }
        case 'r': {
          if (!entry) break;
          const held = entry.holders.get(client) ?? 0;
          if (held <= 0) break;
          if (held === 1) entry.holders.delete(client);
          else entry.holders.set(client, held - 1);
          entry.heldTotal--;
          this.maybeFree(operation[1], entry);
          break;
        }
      }
    }
  }

  locate(id: string): ObjectStatus {
    const entry = this.entries.get(id);
    if (!entry) return { status: 'unknown' };
    if (entry.lost !== undefined) return { status: 'lost', owner: entry.ownerName, reason: entry.lost };
    if (entry.copyOf !== undefined && !entry.fetched) return { status: 'remote', home: entry.copyOf };
    return { status: 'present', location: entry.location };
  }

  /**
   * A process ended: drop its refs and transfers to it; everything it owned is lost because of `reason`. Returns
   * the ids that were lost (a cluster node tells the nodes that fetched copies of them).
   */
  processDied(client: string, reason: string): string[] {
    this.dead.add(client);
    const lost: string[] = [];
    for (const [id, entry] of this.entries) {
      const held = entry.holders.get(client);
      if (held !== undefined) {
        entry.holders.delete(client);
        entry.heldTotal -= held;
      }
      for (const [token, target] of entry.transits) if (target === client) entry.transits.delete(token);
      if (entry.owner === client && entry.lost === undefined) {
        entry.lost = reason;
        lost.push(id);
        this.removeBytes(id, entry);
      }
      this.maybeFree(id, entry);
    }
    return lost;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  // ---- copies of objects owned on other nodes (cluster mode) ---------------------------------------------------

  /** Track a local copy of another node's object (no bytes yet); its refs here are counted like any other's. */
  adoptCopy(id: string, ownerName: string, home: string): void {
    if (this.entries.has(id)) return;
    this.entries.set(id, { owner: '', ownerName, bytes: 0, location: 'shm', holders: new Map(), heldTotal: 0, transits: new Map(), copyOf: home, fetched: false });
  }

  /** The home of a copy, or undefined for an object owned here (or unknown). */
  copyOf(id: string): string | undefined {
    return this.entries.get(id)?.copyOf;
  }

  /** Charge a copy's bytes to the budget (spilling when shared memory is full); returns where to write them. */
  reserveCopy(id: string, bytes: number): ObjectLocation {
    const entry = this.entries.get(id);
    if (!entry || entry.copyOf === undefined) throw new Error(`no copy entry for ${id}`);
    entry.bytes = bytes;
    entry.location = this.usedBytes + bytes <= this.budgetBytes ? 'shm' : 'spill';
    this.account(entry, 1);
    return entry.location;
  }

  /** The copy's bytes are complete at `pathOf(id, location)`. False when nobody holds it any more (remove them). */
  copyFetched(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry || entry.copyOf === undefined || entry.lost !== undefined) return false;
    entry.fetched = true;
    return true;
  }

  /** A copy can never be read: its owner died or its node was lost. Its bytes are removed. */
  copyLost(id: string, reason: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.copyOf === undefined || entry.lost !== undefined) return;
    entry.lost = reason;
    this.removeBytes(id, entry);
  }

  /** Ids of copies fetched from (or waiting for) `home`. */
  copiesFrom(home: string): string[] {
    return [...this.entries].filter(([, entry]) => entry.copyOf === home).map(([id]) => id);
  }

  /** Where an object's bytes live on this node. */
  pathOf(id: string, location: ObjectLocation): string {
    return join(location === 'shm' ? this.directories.shm : this.directories.spill, id);
  }

  usage(): ObjectStoreUsage {
    return { usedBytes: this.usedBytes, spilledBytes: this.spilledBytes, objects: this.entries.size, budgetBytes: this.budgetBytes };
  }

  private maybeFree(id: string, entry: Entry): void {
    if (entry.heldTotal > 0 || entry.transits.size > 0) return;
    this.entries.delete(id);
    if (entry.lost === undefined) this.removeBytes(id, entry);
  }

  private removeBytes(id: string, entry: Entry): void {
    if (entry.copyOf !== undefined && !entry.fetched && entry.bytes === 0) return;
    this.account(entry, -1);
    entry.bytes = entry.copyOf !== undefined ? 0 : entry.bytes;
    rmSync(join(entry.location === 'shm' ? this.directories.shm : this.directories.spill, id), { force: true });
  }

  private account(entry: Entry, sign: 1 | -1): void {
    if (entry.location === 'shm') this.usedBytes += sign * entry.bytes;
    else this.spilledBytes += sign * entry.bytes;
  }
}
