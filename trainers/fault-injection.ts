/**
 * Faults on purpose, for tests and benchmarks (`TrainerOptions.faults`; never part of a config): kill a role's
 * worker process at a chosen step, make the checkpoint store fail for a while, slow every step down (so a test can
 * span a long outage with few steps). A spot notice is served by a fake metadata server instead: see
 * `checkpoint.spotNoticeUrl` and test/faults/fake-metadata-server.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CheckpointError, type CheckpointStore, type StoredObject } from '../runtime/checkpoint/index.ts';
import type { Logger } from '../runtime/index.ts';
import type { RoleSet } from './role-groups.ts';

export interface FaultPlan {
  /** SIGKILL the worker process holding `role`'s rank `rank` (default 0), once, `afterMs` (default 0) into step `atStep`. */
  kill?: { role: string; rank?: number; atStep: number; afterMs?: number; onKill?: (killed: { pid: number; at: number }) => void };
  /** From the end of step `atStep`, every checkpoint store call fails (as an unreachable server does) for `forMs`. */
  storeOutage?: { atStep: number; forMs: number };
  /** Every step ends this much later (a slow node). */
  stepDelayMs?: number;
}

/**
 * @example
 * const faults = new FaultInjector({ kill: { role: 'policy', atStep: 7, afterMs: 20 } }, logger);
 * faults.stepStarting(7, roles);   // the loop's durability hooks call this before every step
 */
export class FaultInjector {
  private readonly plan: FaultPlan;
  private readonly logger: Logger;
  private killed = false;
  private outageUntil = 0;

  constructor(plan: FaultPlan, logger: Logger) {
    this.plan = plan;
    this.logger = logger.child({ component: 'fault-injection' });
  }

  /** Before step `step` runs: arms the kill when this is its step (it fires `afterMs` later, mid-step). */
  async stepStarting(step: number, roles: RoleSet): Promise<void> {
    const kill = this.plan.kill;
    if (!kill || this.killed || step !== kill.atStep) return;
    this.killed = true;
    const group = roles.groups.get(kill.role);
    if (!group) throw new Error(`fault injection: no role ${kill.role}; roles are ${[...roles.groups.keys()].join(', ')}`);
    const { pid } = await group.hosts[kill.rank ?? 0]!.health();
    const fire = () => {
      this.logger.warn({ role: kill.role, rank: kill.rank ?? 0, pid, step }, `fault injection: SIGKILL of the worker holding ${kill.role} rank ${kill.rank ?? 0}`);
      process.kill(pid, 'SIGKILL');
      kill.onKill?.({ pid, at: performance.now() });
    };
    if ((kill.afterMs ?? 0) <= 0) fire();
    else setTimeout(fire, kill.afterMs).unref();
  }

  /** After step `step`: starts the store outage when this is its step; waits out the step delay. */
  async stepDone(step: number): Promise<void> {
    const outage = this.plan.storeOutage;
    if (outage && step === outage.atStep) {
      this.outageUntil = Date.now() + outage.forMs;
      this.logger.warn({ step, forMs: outage.forMs }, 'fault injection: the checkpoint store is unreachable from now on');
    }
    if (this.plan.stepDelayMs) await sleep(this.plan.stepDelayMs);
  }

  /** The store, failing while an outage lasts. */
  wrapStore(store: CheckpointStore): CheckpointStore {
    if (!this.plan.storeOutage) return store;
    return new OutageStore(store, () => Date.now() < this.outageUntil);
  }
}

/** A store whose every call fails with a transient error while `down()` is true; otherwise the store itself. */
class OutageStore implements CheckpointStore {
  constructor(
    private readonly inner: CheckpointStore,
    private readonly down: () => boolean,
  ) {}

  get uri(): string {
    return this.inner.uri;
  }

  put(key: string, body: Uint8Array): Promise<void> {
    return this.guard(key, () => this.inner.put(key, body));
  }

  get(key: string): Promise<Uint8Array> {
    return this.guard(key, () => this.inner.get(key));
  }

  head(key: string): Promise<{ size: number } | undefined> {
    return this.guard(key, () => this.inner.head(key));
  }

  list(prefix: string): Promise<StoredObject[]> {
    return this.guard(prefix, () => this.inner.list(prefix));
  }

  delete(key: string): Promise<void> {
    return this.guard(key, () => this.inner.delete(key));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async guard<T>(key: string, action: () => Promise<T>): Promise<T> {
    if (this.down()) {
      throw new CheckpointError('CHECKPOINT_STORE_FAILED', `${this.inner.uri}/${key}: ECONNREFUSED (injected store outage)`, { path: key, retryable: true });
    }
    return action();
  }
}
