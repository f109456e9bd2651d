import { ConfigError } from '../errors.ts';
import {
  NamingError,
  PlacementGroupInfeasibleError,
  PlacementGroupRemovedError,
  PlacementGroupTimeoutError,
  RuntimeClosedError,
} from '../runtime-errors.ts';
import { ResourcePool, validateResources, type Allocation, type Resources } from '../resources.ts';
import type { PlacementGroupInfo, PlacementGroupSpec, PlacementStrategy } from '../control/control-plane.ts';
import type { ControlStore, PlacementGroupRecord } from '../control/control-store.ts';
import { freePerNode, infeasibility, placeBundles, type PlacementNode } from './placement.ts';

const STRATEGIES: readonly PlacementStrategy[] = ['PACK', 'SPREAD', 'STRICT_PACK', 'STRICT_SPREAD'];

interface LiveGroup {
  record: PlacementGroupRecord;
  /** Per bundle; undefined while the bundle is not placed (a group being placed again after a node loss). */
  allocations: (Allocation | undefined)[];
  /** One pool per bundle, carved out of its node's pool; actors in the bundle allocate from it. */
  bundlePools: ResourcePool[];
  waiters: { resolve: (info: PlacementGroupInfo) => void; reject: (error: Error) => void; timer?: NodeJS.Timeout }[];
}

/**
 * Placement groups in the head: atomic reservation of every bundle, a FIFO queue of groups waiting for room
 * (retried whenever anything is freed), `ready` with a timeout whose error explains the shortfall, and removal
 * that frees the reservation at once (the head kills the group's actors through `onRemove`).
 */
export class PlacementGroupManager {
  private readonly groups = new Map<string, LiveGroup>();
  private readonly pending: string[] = [];

  constructor(
    private readonly nodes: readonly PlacementNode[],
    private readonly store: ControlStore,
    private readonly onCreated: () => void,
  ) {}

  get pendingCount(): number {
    return this.pending.length;
  }

  create(owner: string, spec: PlacementGroupSpec): PlacementGroupInfo {
    if (!Array.isArray(spec.bundles) || spec.bundles.length === 0) {
      throw new ConfigError([{ path: 'bundles', message: 'a placement group needs at least one bundle, e.g. [{ CPU: 1 }]' }]);
    }
    if (!STRATEGIES.includes(spec.strategy)) {
      throw new ConfigError([{ path: 'strategy', message: `must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(spec.strategy)}` }]);
    }
    const bundles = spec.bundles.map((bundle, index) => {
      const checked = validateResources(bundle, `bundles[${index}]`);
      if (Object.values(checked).every((amount) => amount === 0)) {
        throw new ConfigError([{ path: `bundles[${index}]`, message: 'a bundle must reserve something, e.g. { CPU: 1 }' }]);
      }
      return checked;
    });
    const groupId = `pg${this.store.nextSequence('placement-group')}`;
    const displayName = spec.name ?? groupId;
    if (spec.name !== undefined) {
      if (spec.namespace === undefined) {
        throw new NamingError('NAMESPACE_REQUIRED', `placement group '${spec.name}' has a name but no namespace; pass namespace (there is no default namespace)`, spec.name);
      }
      if (!this.store.bindName('placement-group', spec.namespace, spec.name, groupId)) {
        throw new NamingError('NAME_TAKEN', `a placement group named '${spec.name}' already exists in namespace '${spec.namespace}'`, spec.name);
      }
    }
    const reason = infeasibility(this.nodes, bundles, spec.strategy);
    if (reason !== undefined) {
      if (spec.name !== undefined && spec.namespace !== undefined) this.store.unbindName('placement-group', spec.namespace, spec.name);
      throw new PlacementGroupInfeasibleError(displayName, reason);
    }
    const record: PlacementGroupRecord = {
      groupId,
      displayName,
      ...(spec.name === undefined ? {} : { name: spec.name }),
      ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }),
      strategy: spec.strategy,
      bundles,
      state: 'pending',
      bundleNodes: bundles.map(() => undefined),
      owner,
    };
    const group: LiveGroup = { record, allocations: [], bundlePools: [], waiters: [] };
    this.groups.set(groupId, group);
    if (!this.tryPlace(group)) this.pending.push(groupId);
    this.store.putPlacementGroup(record);
    return info(record);
  }

  wait(groupId: string, timeoutMs: number | undefined): Promise<PlacementGroupInfo> {
    const group = this.groups.get(groupId);
    if (!group) return Promise.reject(new PlacementGroupRemovedError(groupId));
    if (group.record.state === 'created') return Promise.resolve(info(group.record));
    if (group.record.state === 'removed') return Promise.reject(new PlacementGroupRemovedError(group.record.displayName));
    return new Promise((resolve, reject) => {
      const waiter: LiveGroup['waiters'][number] = { resolve, reject };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          group.waiters.splice(group.waiters.indexOf(waiter), 1);
          reject(this.timeoutError(group, timeoutMs));
        }, timeoutMs);
      }
      group.waiters.push(waiter);
    });
  }

  /** Free the reservation now. Returns false when the group was already gone. */
  remove(groupId: string): boolean {
    const group = this.groups.get(groupId);
    if (!group || group.record.state === 'removed') return false;
    group.allocations.forEach((allocation, index) => {
      if (allocation) this.nodeOf(group.record.bundleNodes[index])?.pool.release(allocation);
    });
    const queued = this.pending.indexOf(groupId);
    if (queued >= 0) this.pending.splice(queued, 1);
    group.record.state = 'removed';
    this.groups.delete(groupId);
    this.store.deletePlacementGroup(groupId);
    if (group.record.name !== undefined && group.record.namespace !== undefined) {
      this.store.unbindName('placement-group', group.record.namespace, group.record.name);
    }
    for (const waiter of group.waiters) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.reject(new PlacementGroupRemovedError(group.record.displayName));
    }
    return true;
  }

  /** Retry queued groups in order (called whenever resources are freed). */
  retryPending(): void {
    for (let index = 0; index < this.pending.length; ) {
      const group = this.groups.get(this.pending[index] as string);
      if (group && this.tryPlace(group)) this.pending.splice(index, 1);
      else index++;
    }
  }

  get(groupId: string): { record: PlacementGroupRecord; bundlePools: ResourcePool[] } | undefined {
    return this.groups.get(groupId);
  }

  /** Every group not removed. */
  list(): PlacementGroupInfo[] {
    return [...this.groups.values()].map((group) => info(group.record));
  }

  ownedBy(owner: string): string[] {
    return [...this.groups.values()].filter((group) => group.record.owner === owner).map((group) => group.record.groupId);
  }

  closeAll(): void {
    for (const group of this.groups.values()) {
      for (const waiter of group.waiters) {
        if (waiter.timer) clearTimeout(waiter.timer);
        waiter.reject(new RuntimeClosedError(`placement group '${group.record.displayName}'`));
      }
      group.waiters = [];
    }
  }

  /**
   * A node is gone: the bundles it held are placed again (with the group's strategy, next to or apart from the
   * bundles that survived) as soon as resources allow. Until then the group is `pending` and `ready()` waits.
   */
  nodeLost(nodeId: string): void {
    for (const group of this.groups.values()) {
      const lost = group.record.bundleNodes.map((node, index) => (node === nodeId ? index : -1)).filter((index) => index >= 0);
      if (lost.length === 0) continue;
      for (const index of lost) {
        group.allocations[index] = undefined;
        group.record.bundleNodes[index] = undefined;
        group.bundlePools[index] = new ResourcePool({});
      }
      group.record.state = 'pending';
      this.store.putPlacementGroup(group.record);
      if (!this.pending.includes(group.record.groupId)) this.pending.push(group.record.groupId);
    }
    this.retryPending();
  }

  /**
   * Take back a group a restarted head found in its store: its bundles are reserved again on the nodes that held
   * them (which must have been re-added); bundles whose node is gone are placed again.
   */
  restore(record: PlacementGroupRecord): void {
    const group: LiveGroup = { record, allocations: record.bundles.map(() => undefined), bundlePools: record.bundles.map(() => new ResourcePool({})), waiters: [] };
    this.groups.set(record.groupId, group);
    record.bundleNodes.forEach((nodeId, index) => {
      const node = this.nodeOf(nodeId);
      const allocation = node?.pool.allocate(record.bundles[index] as Resources);
      if (node && allocation) {
        group.allocations[index] = allocation;
        group.bundlePools[index] = ResourcePool.fromAllocation(allocation, node.pool);
      } else {
        record.bundleNodes[index] = undefined;
      }
    });
    if (record.bundleNodes.some((node) => node === undefined)) {
      record.state = 'pending';
      this.pending.push(record.groupId);
    }
  }

  private tryPlace(group: LiveGroup): boolean {
    const missing = group.record.bundleNodes.map((node, index) => (node === undefined ? index : -1)).filter((index) => index >= 0);
    const placed = new Set(group.record.bundleNodes.filter((node) => node !== undefined));
    const strategy = group.record.strategy;
    // Survivors constrain the rest: STRICT_PACK stays on their node, STRICT_SPREAD avoids theirs.
    const candidates = placed.size === 0 ? this.nodes
      : strategy === 'STRICT_PACK' ? this.nodes.filter((node) => placed.has(node.nodeId))
        : strategy === 'STRICT_SPREAD' ? this.nodes.filter((node) => !placed.has(node.nodeId))
          : this.nodes;
    const result = placeBundles(candidates, missing.map((index) => group.record.bundles[index] as Resources), strategy);
    if (!result.ok) return false;
    missing.forEach((bundle, position) => {
      const node = candidates[result.nodes[position] as number] as PlacementNode;
      const allocation = result.allocations[position] as Allocation;
      group.allocations[bundle] = allocation;
      group.record.bundleNodes[bundle] = node.nodeId;
      group.bundlePools[bundle] = ResourcePool.fromAllocation(allocation, node.pool);
    });
    group.record.state = 'created';
    this.store.putPlacementGroup(group.record);
    const waiters = group.waiters;
    group.waiters = [];
    for (const waiter of waiters) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.resolve(info(group.record));
    }
    this.onCreated();
    return true;
  }

  private timeoutError(group: LiveGroup, timeoutMs: number): PlacementGroupTimeoutError {
    const trial = this.nodes.map((node) => ({ nodeId: node.nodeId, pool: node.pool.clone() }));
    const attempt = placeBundles(trial, group.record.bundles, group.record.strategy);
    const unplaced = attempt.ok ? [] : attempt.unplaced;
    return new PlacementGroupTimeoutError(
      group.record.displayName,
      timeoutMs,
      group.record.strategy,
      unplaced.map((item) => ({ index: item.index, bundle: group.record.bundles[item.index] ?? {}, shortfall: item.shortfall })),
      freePerNode(this.nodes),
    );
  }

  private nodeOf(nodeId: string | undefined): PlacementNode | undefined {
    return this.nodes.find((node) => node.nodeId === nodeId);
  }
}

function info(record: PlacementGroupRecord): PlacementGroupInfo {
  return {
    groupId: record.groupId,
    displayName: record.displayName,
    strategy: record.strategy,
    state: record.state,
    bundles: record.bundles,
    bundleNodes: [...record.bundleNodes],
  };
}
