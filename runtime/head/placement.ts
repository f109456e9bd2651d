import { formatResources } from '../runtime-errors.ts';
import { sumResources, type Allocation, type ResourcePool, type Resources } from '../resources.ts';
import type { PlacementStrategy } from '../control/control-plane.ts';

/**
 * Where each bundle of a placement group goes, with Ray's semantics:
 * - STRICT_PACK: every bundle on one node, or not at all;
 * - PACK: on as few nodes as possible (one if it fits), best effort;
 * - STRICT_SPREAD: every bundle on a different node, or not at all;
 * - SPREAD: on different nodes where possible, best effort.
 * Reservation is atomic: `placeBundles` allocates every bundle or none.
 *
 * @example
 * const placed = placeBundles(nodes, [{ CPU: 1 }, { CPU: 1 }], 'STRICT_SPREAD');
 * if (placed.ok) placed.nodes; // [0, 1]
 */
export interface PlacementNode {
  nodeId: string;
  pool: ResourcePool;
}

export type PlacementResult =
  | { ok: true; nodes: number[]; allocations: Allocation[] }
  | { ok: false; unplaced: { index: number; shortfall: string }[] };

/** Try to reserve every bundle now; on success the node pools are charged, on failure nothing changes. */
export function placeBundles(nodes: readonly PlacementNode[], bundles: readonly Resources[], strategy: PlacementStrategy): PlacementResult {
  const trial = nodes.map((node) => node.pool.clone());
  const assignment = assign(trial, nodes, bundles, strategy);
  if (!Array.isArray(assignment)) return { ok: false, unplaced: assignment.unplaced };
  const allocations: Allocation[] = [];
  for (let index = 0; index < bundles.length; index++) {
    const allocation = (nodes[assignment[index] as number] as PlacementNode).pool.allocate(bundles[index] as Resources);
    if (allocation === undefined) {
      // Cannot happen (same state as the trial); undo rather than leave a half reservation.
      allocations.forEach((taken, earlier) => (nodes[assignment[earlier] as number] as PlacementNode).pool.release(taken));
      return { ok: false, unplaced: [{ index, shortfall: 'lost a race with another reservation' }] };
    }
    allocations.push(allocation);
  }
  return { ok: true, nodes: assignment, allocations };
}

/**
 * Why the group could never be placed, even on an idle cluster; undefined when it could. Checked at creation so
 * that an impossible group is reported at once instead of pending in silence.
 */
export function infeasibility(nodes: readonly PlacementNode[], bundles: readonly Resources[], strategy: PlacementStrategy): string | undefined {
  if (bundles.length === 0) return 'a placement group needs at least one bundle';
  if (strategy === 'STRICT_SPREAD' && bundles.length > nodes.length) {
    return `STRICT_SPREAD puts every bundle on a different node: ${bundles.length} bundles need ${bundles.length} nodes but the cluster has ${nodes.length}`;
  }
  const empty = nodes.map((node) => node.pool.emptied());
  for (let index = 0; index < bundles.length; index++) {
    const bundle = bundles[index] as Resources;
    if (!empty.some((pool) => pool.fits(bundle))) {
      return `bundle ${index} ${formatResources(bundle)} fits on no node (${describeNodes(nodes, true)})`;
    }
  }
  if (strategy === 'STRICT_PACK') {
    const total = sumResources(bundles);
    if (!empty.some((pool) => packsOnto(pool.clone(), bundles))) {
      return `STRICT_PACK needs ${formatResources(total)} on one node but no node has that much in total (${describeNodes(nodes, true)})`;
    }
  }
  const result = assign(empty, nodes, bundles, strategy);
  if (!Array.isArray(result)) {
    return result.unplaced.map((item) => `bundle ${item.index}: ${item.shortfall}`).join('; ');
  }
  return undefined;
}

/** Node -> free resources, for error messages. */
export function freePerNode(nodes: readonly PlacementNode[]): Record<string, Resources> {
  return Object.fromEntries(nodes.map((node) => [node.nodeId, node.pool.freeResources()]));
}

function describeNodes(nodes: readonly PlacementNode[], total: boolean): string {
  return nodes.map((node) => `${node.nodeId} ${formatResources(total ? node.pool.totalResources() : node.pool.freeResources())}`).join(', ');
}

function packsOnto(pool: ResourcePool, bundles: readonly Resources[]): boolean {
  return bundles.every((bundle) => pool.allocate(bundle) !== undefined);
}

/** Assign bundles to nodes on trial pools (mutated). Returns node indexes, or the bundles that did not fit. */
function assign(
  pools: ResourcePool[],
  nodes: readonly PlacementNode[],
  bundles: readonly Resources[],
  strategy: PlacementStrategy,
): number[] | { unplaced: { index: number; shortfall: string }[] } {
  switch (strategy) {
    case 'STRICT_PACK': {
      for (const index of byMostFree(pools)) {
        if (packsOnto((pools[index] as ResourcePool).clone(), bundles)) return bundles.map(() => index);
      }
      const total = sumResources(bundles);
      const best = byMostFree(pools)[0] ?? 0;
      const shortfall = `needs ${formatResources(total)} together on one node; best node ${nodes[best]?.nodeId} is short ${(pools[best] as ResourcePool).shortfall(total).join(', ') || 'on GPU devices'}`;
      return { unplaced: bundles.map((_, index) => ({ index, shortfall })) };
    }
    case 'PACK': {
      for (const index of byMostFree(pools)) {
        if (packsOnto((pools[index] as ResourcePool).clone(), bundles)) return bundles.map(() => index);
      }
      return greedy(pools, nodes, bundles, (used) => [...used, ...byMostFree(pools).filter((index) => !used.includes(index))]);
    }
    case 'SPREAD':
      return greedy(pools, nodes, bundles, (used) => {
        const counts = pools.map((_, index) => used.filter((node) => node === index).length);
        return byMostFree(pools).sort((a, b) => (counts[a] as number) - (counts[b] as number));
      });
    case 'STRICT_SPREAD': {
      const chosen: number[] = [];
      const search = (bundle: number): boolean => {
        if (bundle === bundles.length) return true;
        for (const index of byMostFree(pools)) {
          if (chosen.includes(index)) continue;
          const allocation = (pools[index] as ResourcePool).allocate(bundles[bundle] as Resources);
          if (allocation === undefined) continue;
          chosen.push(index);
          if (search(bundle + 1)) return true;
          chosen.pop();
          (pools[index] as ResourcePool).release(allocation);
        }
        return false;
      };
      if (bundles.length <= pools.length && search(0)) return chosen;
      return {
        unplaced: bundles.map((bundle, index) => ({
          index,
          shortfall: `needs ${formatResources(bundle)} on a node of its own; nodes with room: ${pools.filter((pool) => pool.fits(bundle)).length} of ${pools.length}`,
        })),
      };
    }
  }
}

/** Place bundles one by one on the first node of `order(usedSoFar)` that fits. */
function greedy(
  pools: ResourcePool[],
  nodes: readonly PlacementNode[],
  bundles: readonly Resources[],
  order: (used: number[]) => number[],
): number[] | { unplaced: { index: number; shortfall: string }[] } {
  const used: number[] = [];
  const unplaced: { index: number; shortfall: string }[] = [];
  bundles.forEach((bundle, index) => {
    const target = order(used).find((node) => (pools[node] as ResourcePool).allocate(bundle) !== undefined);
    if (target === undefined) {
      const best = byMostFree(pools)[0] ?? 0;
      unplaced.push({ index, shortfall: `best node ${nodes[best]?.nodeId} is short ${(pools[best] as ResourcePool).shortfall(bundle).join(', ')}` });
    } else {
      used.push(target);
    }
  });
  return unplaced.length > 0 ? { unplaced } : used;
}

/** Node indexes, most free CPU first (ties: node order), so packing and spreading both prefer idle nodes. */
function byMostFree(pools: readonly ResourcePool[]): number[] {
  return pools
    .map((_, index) => index)
    .sort((a, b) => ((pools[b] as ResourcePool).free.get('CPU') ?? 0) - ((pools[a] as ResourcePool).free.get('CPU') ?? 0) || a - b);
}
