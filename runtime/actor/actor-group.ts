import { ConfigError } from '../errors.ts';
import type { ActorHandle, MethodArgs, MethodName, MethodResult } from './actor-handle.ts';

/**
 * `size` actors of one role, addressed by rank: fan-out to all, scatter one argument list per rank, call one
 * rank, and swap a rank's actor (how a warm spare takes over). Each member knows its rank and the group size
 * through `actorContext().group`.
 *
 * @example
 * const policy = await runtime.createActorGroup<typeof PolicyActor>({ size: 2, module, exportName: 'PolicyActor', role: 'policy' });
 * await policy.callAll('load', weightsRef);
 * const losses = await policy.scatter('train', [[shard0], [shard1]]);
 */
export class ActorGroup<T = unknown> {
  private members: ActorHandle<T>[];
  private listeners: ((change: { rank: number; previous: ActorHandle<T>; next: ActorHandle<T>; version: number }) => void)[] = [];
  /** Increases on every membership change; collective groups re-form when it moves. */
  version = 0;

  constructor(readonly name: string, readonly role: string, members: ActorHandle<T>[]) {
    this.members = [...members];
  }

  get size(): number {
    return this.members.length;
  }

  get actors(): readonly ActorHandle<T>[] {
    return this.members;
  }

  rank(rank: number): ActorHandle<T> {
    const member = this.members[rank];
    if (!member) throw new ConfigError([{ path: 'rank', message: `group '${this.name}' has ranks 0 to ${this.size - 1}, got ${rank}` }]);
    return member;
  }

  /** The same call on every rank; resolves with results in rank order. */
  callAll<M extends MethodName<T>>(method: M, ...args: MethodArgs<T, M>): Promise<MethodResult<T, M>[]> {
    return Promise.all(this.members.map((member) => member.call(method, ...args)));
  }

  /** Rank `i` gets `argsPerRank[i]`; the list must have exactly one entry per rank. */
  scatter<M extends MethodName<T>>(method: M, argsPerRank: readonly MethodArgs<T, M>[]): Promise<MethodResult<T, M>[]> {
    if (!Array.isArray(argsPerRank) || argsPerRank.length !== this.size) {
      throw new ConfigError([
        { path: `scatter(${method})`, message: `needs one argument list per rank: group '${this.name}' has ${this.size} ranks, got ${Array.isArray(argsPerRank) ? argsPerRank.length : typeof argsPerRank}` },
      ]);
    }
    return Promise.all(this.members.map((member, rank) => member.call(method, ...(argsPerRank[rank] as MethodArgs<T, M>))));
  }

  callRank<M extends MethodName<T>>(rank: number, method: M, ...args: MethodArgs<T, M>): Promise<MethodResult<T, M>> {
    return this.rank(rank).call(method, ...args);
  }

  /** Put `actor` at `rank` (e.g. a warm spare for a dead member); returns the actor it replaced. */
  replace(rank: number, actor: ActorHandle<T>): ActorHandle<T> {
    const previous = this.rank(rank);
    this.members[rank] = actor;
    this.version++;
    for (const listener of this.listeners) listener({ rank, previous, next: actor, version: this.version });
    return previous;
  }

  onMembershipChange(listener: (change: { rank: number; previous: ActorHandle<T>; next: ActorHandle<T>; version: number }) => void): void {
    this.listeners.push(listener);
  }

  /** Kill every member. */
  async kill(): Promise<void> {
    await Promise.all(this.members.map((member) => member.kill()));
  }
}
