/**
 * What a sweep checks through the runtime: whether its trials fit at once, and whether they left anything behind
 * (live actors, placement groups, reserved resources) once they ended.
 */
import { PosttrainError } from '../runtime/errors.ts';
import type { NodeInfo, Resources, Runtime } from '../runtime/index.ts';

/** The runtime before trials start: what already ran there is not the sweep's to account for. */
export interface RuntimeSnapshot {
  actorIds: Set<string>;
  groupIds: Set<string>;
  free: Map<string, Resources>;
}

/** What trials left behind; all zero (and `resourcesFree`) when nothing leaked. */
export interface LeakReport {
  /** Actors started after the snapshot that are still not dead. */
  actors: number;
  /** Placement groups created after the snapshot that still exist. */
  placementGroups: number;
  /** Every node's free resources are back to what they were at the snapshot. */
  resourcesFree: boolean;
}

export async function snapshotRuntime(runtime: Runtime): Promise<RuntimeSnapshot> {
  const [actors, groups, nodes] = await Promise.all([runtime.listActors(), runtime.listPlacementGroups(), runtime.nodes()]);
  return {
    actorIds: new Set(actors.map((actor) => actor.actorId)),
    groupIds: new Set(groups.map((group) => group.groupId)),
    free: new Map(nodes.map((node) => [node.nodeId, node.free])),
  };
}

/**
 * Compares the runtime with a snapshot. Reservations are freed the moment a placement group is removed; killed
 * processes take a few milliseconds to exit, so this waits up to `settleMs` for the actors to be reported dead.
 *
 * @example
 * const before = await snapshotRuntime(runtime);
 * await runSweep(...);
 * const leaks = await leakedSince(runtime, before); // { actors: 0, placementGroups: 0, resourcesFree: true }
 */
export async function leakedSince(runtime: Runtime, before: RuntimeSnapshot, settleMs = 5_000): Promise<LeakReport> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const [actors, groups, nodes] = await Promise.all([runtime.listActors(), runtime.listPlacementGroups(), runtime.nodes()]);
    const report: LeakReport = {
      actors: actors.filter((actor) => !before.actorIds.has(actor.actorId)).length,
      placementGroups: groups.filter((group) => !before.groupIds.has(group.groupId)).length,
      resourcesFree: nodes.every((node) => sameResources(node.free, before.free.get(node.nodeId) ?? node.total)),
    };
    if ((report.actors === 0 && report.placementGroups === 0 && report.resourcesFree) || Date.now() > deadline) return report;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Resolves once no actor is left alive in a placement group that no longer exists: removing a group frees its
 * reservation at once and SIGKILLs its actors, and this waits for those processes to have exited. Rejects after
 * `timeoutMs` naming the survivors.
 *
 * @example
 * await trainer.abort();            // placement groups removed
 * await actorsOfRemovedGroupsGone(runtime); // and their processes gone
 */
export async function actorsOfRemovedGroupsGone(runtime: Runtime, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [actors, groups] = await Promise.all([runtime.listActors(), runtime.listPlacementGroups()]);
    const existing = new Set(groups.map((group) => group.groupId));
    const orphans = actors.filter((actor) => actor.placementGroupId !== undefined && !existing.has(actor.placementGroupId));
    if (orphans.length === 0) return;
    if (Date.now() > deadline) {
      throw new PosttrainError('RELEASE_TIMEOUT', `actors ${orphans.map((actor) => actor.displayName).join(', ')} were still alive ${timeoutMs} ms after their placement groups were removed`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** How many trials of `hosts` bundles of `resources` each fit on the nodes at once (whole trials per node). */
export function trialsThatFit(nodes: readonly NodeInfo[], resources: Resources, hosts: number): number {
  let trials = 0;
  for (const node of nodes) {
    const bundles = Math.min(
      ...Object.entries(resources)
        .filter(([, amount]) => amount > 0)
        .map(([name, amount]) => Math.floor((node.total[name] ?? 0) / amount + 1e-9)),
    );
    trials += Math.floor((Number.isFinite(bundles) ? bundles : Infinity) / hosts);
  }
  return trials;
}

function sameResources(a: Resources, b: Resources): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].every((name) => Math.abs((a[name] ?? 0) - (b[name] ?? 0)) < 1e-9);
}
