import { ConfigError } from '../errors.ts';
import { InfeasibleResourcesError, PlacementGroupRemovedError, formatResources } from '../runtime-errors.ts';
import { ResourcePool, fromUnits, toUnits, type Resources } from '../resources.ts';
import type { ActorCreateSpec } from '../control/control-plane.ts';
import type { PlacementGroupManager } from './placement-group-manager.ts';
import type { PlacementNode } from './placement.ts';

/**
 * Fail at once, naming each resource and how much is missing, when no node (or no bundle of the actor's placement
 * group) could ever hold the actor, even if everything else were gone. A request that fits but not now waits.
 */
export function checkActorFeasible(nodes: readonly PlacementNode[], groups: PlacementGroupManager, spec: ActorCreateSpec, displayName: string): void {
  const what = `actor '${displayName}' ${formatResources(spec.resources)}`;
  if (spec.placementGroupId !== undefined) {
    const group = groups.get(spec.placementGroupId);
    if (!group) throw new PlacementGroupRemovedError(spec.placementGroupId);
    const bundles = group.record.bundles;
    if (spec.bundleIndex !== undefined && (!Number.isInteger(spec.bundleIndex) || spec.bundleIndex < 0 || spec.bundleIndex >= bundles.length)) {
      throw new ConfigError([
        { path: 'bundleIndex', message: `must be an integer from 0 to ${bundles.length - 1} (placement group '${group.record.displayName}' has ${bundles.length} bundles), got ${spec.bundleIndex}` },
      ]);
    }
    const candidates = spec.bundleIndex === undefined ? bundles.map((_, index) => index) : [spec.bundleIndex];
    if (candidates.some((index) => new ResourcePool(bundles[index] as Resources).fits(spec.resources))) return;
    throw new InfeasibleResourcesError(
      what,
      Object.entries(spec.resources)
        .map(([resource, requested]) => {
          const largest = Math.max(...candidates.map((index) => (bundles[index] as Resources)[resource] ?? 0));
          return { resource, requested, largest, node: `bundle ${candidates.length === 1 ? candidates[0] : 'any'} of '${group.record.displayName}'` };
        })
        .filter((item) => toUnits(item.requested) > toUnits(item.largest)),
    );
  }
  if (nodes.some((node) => node.pool.emptied().fits(spec.resources))) return;
  const shortfall = Object.entries(spec.resources)
    .map(([resource, requested]) => {
      let largest = 0;
      let node: string | undefined;
      for (const candidate of nodes) {
        const total = fromUnits(candidate.pool.total.get(resource) ?? 0);
        if (total > largest) {
          largest = total;
          node = candidate.nodeId;
        }
      }
      return { resource, requested, largest, node };
    })
    .filter((item) => toUnits(item.requested) > toUnits(item.largest));
  throw new InfeasibleResourcesError(
    what,
    shortfall.length > 0 ? shortfall : [{ resource: 'all of them together', requested: 0, largest: 0, node: undefined }],
  );
}
