import type { ControlPlane, PlacementGroupInfo, PlacementStrategy } from '../control/control-plane.ts';
import type { Resources } from '../resources.ts';

/**
 * A reservation of resource bundles. Create it, wait for `ready`, start actors in its bundles
 * (`placementGroup` + `bundleIndex` in the actor options), and `remove` it to kill those actors and free the
 * reservation at once.
 *
 * @example
 * const group = await runtime.createPlacementGroup({ bundles: [{ CPU: 1 }, { CPU: 1 }], strategy: 'STRICT_SPREAD' });
 * await group.ready({ timeoutMs: 10_000 }); // PlacementGroupTimeoutError explains any shortfall
 * const actor = await runtime.createActor({ ..., placementGroup: group, bundleIndex: 1 });
 * await group.remove();
 */
export class PlacementGroup {
  constructor(private info: PlacementGroupInfo, private readonly control: ControlPlane) {}

  get id(): string {
    return this.info.groupId;
  }

  get name(): string {
    return this.info.displayName;
  }

  get strategy(): PlacementStrategy {
    return this.info.strategy;
  }

  get bundles(): readonly Resources[] {
    return this.info.bundles;
  }

  /** Node of each bundle (known once ready). */
  get bundleNodes(): readonly (string | undefined)[] {
    return this.info.bundleNodes;
  }

  get state(): PlacementGroupInfo['state'] {
    return this.info.state;
  }

  /** Resolves when every bundle is reserved; rejects with `PlacementGroupTimeoutError` after `timeoutMs`. */
  async ready(options: { timeoutMs?: number } = {}): Promise<this> {
    this.info = await this.control.waitPlacementGroup(this.info.groupId, options.timeoutMs);
    return this;
  }

  /** Kill the actors running in the group and free its reservation now. */
  async remove(): Promise<void> {
    await this.control.removePlacementGroup(this.info.groupId);
    this.info = { ...this.info, state: 'removed' };
  }
}
