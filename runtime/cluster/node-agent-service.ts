import type { HeadService } from '../head/head-server.ts';
import type { WorkerAssignment } from '../head/worker-pool.ts';
import type { ObjectDirectory } from '../object-store/object-directory.ts';
import { ConfigError } from '../errors.ts';
import { HeadForwardingControl } from './head-forwarding-control.ts';
import type { HeadLink } from './head-link.ts';
import type { ObjectHome } from './object-home.ts';

/** What the agent knows of the workers it runs (for `workerSpec` and for reconciling with the head). */
export interface AgentWorkers {
  assignment(clientId: string): Promise<WorkerAssignment> | undefined;
  ready(clientId: string, address: string, localAddress: string | undefined): void;
}

/**
 * What a node agent does for its workers, which talk to it exactly as embedded workers talk to the embedded head
 * (the same local channel and protocol): object operations stay on the node (its directory and object home),
 * everything else is forwarded to the cluster head in the worker's name (the head checks that the worker is this
 * node's).
 *
 * @example
 * const server = new HeadServer(new NodeAgentService(`node:${nodeId}`, link, directory, home, workers), logger);
 */
export class NodeAgentService extends HeadForwardingControl implements HeadService {
  constructor(
    /** The agent's own name in requests whose answer does not depend on the caller. */
    protected readonly ownName: string,
    link: HeadLink,
    directory: ObjectDirectory,
    home: ObjectHome,
    private readonly workers: AgentWorkers,
  ) {
    super(link, directory, home);
  }

  /** Requests go out in the worker's name; the head checks that the worker is this node's. */
  protected request<T>(route: string, caller: string, args: unknown[]): Promise<T> {
    return this.link.request<T>(route, [caller, ...args]);
  }

  // ---- this node's workers ----

  workerSpec(clientId: string): Promise<WorkerAssignment> {
    const assignment = this.workers.assignment(clientId);
    if (!assignment) throw new ConfigError([{ path: 'clientId', message: `unknown worker ${clientId}` }]);
    return assignment;
  }

  workerReady(clientId: string, address: string, localAddress?: string): void {
    this.workers.ready(clientId, address, localAddress);
    this.link.notify('workerReady', [clientId, address, localAddress ?? null]);
  }

  workerFailed(clientId: string, reason: string): void {
    this.link.notify('workerFailed', [clientId, reason]);
  }
}
