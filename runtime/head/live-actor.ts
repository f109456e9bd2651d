import type { ActorDeathCause } from '../runtime-errors.ts';
import type { Allocation, ResourcePool } from '../resources.ts';
import type { ActorInfo, ActorResolution } from '../control/control-plane.ts';
import type { ActorRecord } from '../control/control-store.ts';
import type { WorkerHandle } from './worker-launcher.ts';

/** The head's live view of one actor: its stored record plus what only a running head has. */
export interface LiveActor {
  record: ActorRecord;
  /** When it started waiting for resources, and when that was last reported. */
  pendingSinceMs?: number;
  pendingWarnedMs?: number;
  pool?: ResourcePool;
  allocation?: Allocation;
  process?: WorkerHandle;
  /** Set by kill() or placement-group removal: the actor is not restarted and dies with this cause. */
  killCause?: ActorDeathCause;
  constructorError?: string;
  /** Cluster mode: the node refused to start the worker (e.g. its allow-list); reported instead of a constructor error. */
  startError?: string;
  creation: { resolve: (info: ActorInfo) => void; reject: (error: Error) => void; settled: boolean };
  waiters: { after: number; resolve: (resolution: ActorResolution) => void }[];
}

/** Deaths that were not asked for: they are logged as warnings and may be followed by a restart. */
export function isUnexpectedDeath(cause: ActorDeathCause): boolean {
  return cause.kind === 'exit' || cause.kind === 'signal' || cause.kind === 'oom' || cause.kind === 'node-lost';
}

export function actorInfo(record: ActorRecord): ActorInfo {
  return {
    actorId: record.actorId,
    displayName: record.displayName,
    role: record.spec.role,
    ...(record.spec.namespace === undefined ? {} : { namespace: record.spec.namespace }),
    maxTaskRetries: record.spec.maxTaskRetries,
    incarnation: record.incarnation,
    address: record.address ?? '',
    ...(record.localAddress === undefined ? {} : { localAddress: record.localAddress }),
    clientId: record.clientId ?? '',
    nodeId: record.nodeId ?? '',
    gpuIds: record.gpuIds,
  };
}

/** What a caller waiting on incarnation `after` learns now: alive with a newer incarnation, dead, or nothing yet. */
export function resolutionOf(record: ActorRecord, after: number): ActorResolution | undefined {
  const previousDeath = record.deaths[after];
  const extra = previousDeath === undefined ? {} : { previousDeath };
  if (record.state === 'dead') {
    const cause = record.finalCause ?? { kind: 'exit', reason: 'unknown' };
    const restartsExhausted = isUnexpectedDeath(cause) && record.spec.maxRestarts > 0 && record.restarts >= record.spec.maxRestarts;
    return { state: 'dead', displayName: record.displayName, role: record.spec.role, cause, restartsExhausted, maxRestarts: record.spec.maxRestarts, ...extra };
  }
  if (record.state === 'alive' && record.incarnation > after) return { state: 'alive', info: actorInfo(record), ...extra };
  return undefined;
}

/** Answer every waiter that can be answered now; the rest keep waiting. */
export function wakeWaiters(live: LiveActor): void {
  const waiting = live.waiters;
  live.waiters = [];
  for (const waiter of waiting) {
    const resolution = resolutionOf(live.record, waiter.after);
    if (resolution) waiter.resolve(resolution);
    else live.waiters.push(waiter);
  }
}
