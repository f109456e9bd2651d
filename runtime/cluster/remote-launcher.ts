import type { ActorDeathCause } from '../runtime-errors.ts';
import type { LaunchRequest, WorkerExitListener, WorkerHandle, WorkerLauncher } from '../head/worker-launcher.ts';
import type { WorkerAssignment } from '../head/worker-pool.ts';

/** How the launcher reaches node agents (the cluster head's node sessions). */
export interface NodeRequester {
  /** Send a request to the agent of `nodeId` (queued while it reconnects); rejects when the node is gone. */
  request(nodeId: string, route: string, args: unknown[]): Promise<unknown>;
}

/** What a node agent needs to start a worker: the head's launch request and the actor's assignment. */
export interface StartWorkerRequest {
  clientId: string;
  plain: boolean;
  env: Record<string, string>;
  execArgv: string[];
  gpuIds: string[];
  displayName: string;
  role: string;
  assignment: WorkerAssignment;
}

/** A worker on a cluster node, as the head sees it: it ends when its agent says so or its node is lost. */
class RemoteWorker implements WorkerHandle {
  running = true;
  readonly exited: Promise<void>;
  private markExited: () => void = () => {};

  constructor(
    readonly clientId: string,
    readonly nodeId: string,
    private readonly launcher: RemoteLauncher,
    readonly pid: number | undefined = undefined,
  ) {
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  kill(): void {
    if (this.running) this.launcher.kill(this);
  }

  ended(): void {
    this.running = false;
    this.markExited();
  }
}

/**
 * Starts workers on cluster nodes for the head: the node agent of the chosen node is asked to start one under a
 * client id the head picks (`<actorId>.<incarnation>`, unique for the life of the cluster because actor ids come
 * from a persisted sequence), and reports back when it ends.
 *
 * @example
 * const launcher = new RemoteLauncher(sessions, (clientId, cause) => head.processExited(clientId, cause), onRefused);
 */
export class RemoteLauncher implements WorkerLauncher {
  private readonly handles = new Map<string, RemoteWorker>();

  constructor(
    private readonly nodes: NodeRequester,
    private readonly onExit: WorkerExitListener,
    /** The agent refused or failed to start the worker (a module outside its allow-list, a spawn error). */
    private readonly onRefused: (clientId: string, reason: string) => void,
  ) {}

  start(request: LaunchRequest, assignment: () => WorkerAssignment): WorkerHandle {
    const clientId = `${request.actorId}.${request.incarnation}`;
    const handle = new RemoteWorker(clientId, request.nodeId, this);
    this.handles.set(clientId, handle);
    const start: StartWorkerRequest = {
      clientId,
      plain: request.plain,
      env: request.env,
      execArgv: request.execArgv,
      gpuIds: request.gpuIds,
      displayName: request.displayName,
      role: assignment().spec.role,
      assignment: assignment(),
    };
    this.nodes.request(request.nodeId, 'startWorker', [start]).catch((error: Error) => {
      if (!this.handles.has(clientId)) return;
      this.onRefused(clientId, error.message);
      this.exited(clientId, { kind: 'exit', reason: error.message, exitCode: null, signal: null });
    });
    return handle;
  }

  /** A worker that a restarted head found in its store (still running on its node). */
  restore(clientId: string, nodeId: string, pid: number | undefined): WorkerHandle {
    const handle = new RemoteWorker(clientId, nodeId, this, pid);
    this.handles.set(clientId, handle);
    return handle;
  }

  /** The node agent reports that a worker ended. */
  exited(clientId: string, cause: ActorDeathCause): void {
    const handle = this.handles.get(clientId);
    if (!handle) return;
    this.handles.delete(clientId);
    handle.ended();
    this.onExit(clientId, cause);
  }

  /** The node is gone: its workers count as ended (the head's node-loss handling reports why). */
  nodeLost(nodeId: string): void {
    for (const [clientId, handle] of this.handles) {
      if (handle.nodeId !== nodeId) continue;
      this.handles.delete(clientId);
      handle.ended();
    }
  }

  /** Client ids of the workers the head believes run on `nodeId`. */
  workersOn(nodeId: string): string[] {
    return [...this.handles.values()].filter((handle) => handle.nodeId === nodeId).map((handle) => handle.clientId);
  }

  kill(handle: RemoteWorker): void {
    this.nodes.request(handle.nodeId, 'killWorker', [handle.clientId]).catch(() => {
      // The node is gone or fenced: its loss ends the worker.
    });
  }

  async close(): Promise<void> {
    // Workers on nodes outlive a head that stops: a restarted head takes them back.
  }
}
