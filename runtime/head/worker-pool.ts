import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ActorCreateSpec } from '../control/control-plane.ts';
import type { LaunchRequest, WorkerExitListener, WorkerLauncher } from './worker-launcher.ts';
import { WorkerProcess, type WorkerClusterBootstrap } from './worker-process.ts';

/** What a worker runs, as the head tells it at start-up. */
export interface WorkerAssignment {
  spec: ActorCreateSpec;
  actorId: string;
  displayName: string;
  incarnation: number;
  nodeId: string;
  gpuIds: string[];
  namespace?: string;
  /** Set when a prestarted worker takes an id given by a cluster head: it says hello again under this id. */
  clientId?: string;
}

/** A booted worker with no actor yet; `assign` is set once it has asked for its work. */
interface IdleWorker {
  process: WorkerProcess;
  assign?: (assignment: WorkerAssignment) => void;
}

export interface WorkerPoolOptions {
  socketDirectory: string;
  shmDirectory: string;
  spillDirectory: string;
  logger: Logger;
  workerExecArgv: string[];
  /** Booted workers kept waiting for actors (0 turns prestarting off). */
  prestartWorkers: number;
  /** Prefix of the ids the pool gives its workers (default `w`). */
  idPrefix?: string;
  /** Set on cluster nodes (see `WorkerClusterBootstrap`). */
  cluster?: WorkerClusterBootstrap;
}

/**
 * Starts worker processes on this machine, and keeps `prestartWorkers` of them booted ahead of need so that
 * creating or restarting a CPU actor skips Node's and tsx's start-up (~0.5 s on two cores). A prestarted worker
 * cannot serve an actor that needs GPUs or its own environment or flags: `CUDA_VISIBLE_DEVICES` must be set before
 * anything loads.
 */
export class WorkerPool implements WorkerLauncher {
  headAddress = '';
  private readonly idle: IdleWorker[] = [];
  private nextWorker = 1;
  private closing = false;

  constructor(
    private readonly options: WorkerPoolOptions,
    /** A worker that was given an actor ended. */
    private readonly onExit: WorkerExitListener,
  ) {}

  /**
   * A process for an actor: a prestarted one when the actor is plain (a booted one first, else one still booting,
   * which is further along than a new process), or a new one. `assignment` is handed over when the worker asks.
   * `request.clientId` (cluster nodes) names the process; otherwise the pool names it.
   */
  start(request: LaunchRequest & { clientId?: string }, assignment: () => WorkerAssignment): WorkerProcess {
    const ready = this.idle.findIndex((worker) => worker.assign !== undefined);
    const index = !request.plain ? -1 : ready >= 0 ? ready : this.idle.length > 0 ? 0 : -1;
    if (index < 0) return this.spawn(request.clientId ?? this.newId(), request, false);
    const [worker] = this.idle.splice(index, 1) as [IdleWorker];
    const renamed = request.clientId !== undefined && request.clientId !== worker.process.clientId;
    if (request.clientId !== undefined) worker.process.clientId = request.clientId;
    worker.process.assign(request.displayName, request.logger);
    const withId = () => (renamed ? { ...assignment(), clientId: worker.process.clientId } : assignment());
    // A worker that has not asked yet gets its assignment from `waitForAssignment` when it does.
    if (worker.assign) worker.assign(withId());
    else this.pendingAssignments.set(worker.process, withId);
    setImmediate(() => this.refill());
    return worker.process;
  }

  /** Assignments of workers taken from the pool before they asked for work. */
  private readonly pendingAssignments = new Map<WorkerProcess, () => WorkerAssignment>();

  /** For a prestarted worker asking for work: resolves when an actor is assigned. Undefined for other workers. */
  waitForAssignment(clientId: string): Promise<WorkerAssignment> | undefined {
    for (const [process, assignment] of this.pendingAssignments) {
      if (process.clientId === clientId || process.bootId === clientId) {
        this.pendingAssignments.delete(process);
        return Promise.resolve(assignment());
      }
    }
    const idle = this.idle.find((worker) => worker.process.bootId === clientId);
    if (!idle) return undefined;
    return new Promise((resolve) => (idle.assign = resolve));
  }

  refill(): void {
    while (!this.closing && this.idle.length < this.options.prestartWorkers) {
      const clientId = this.newId();
      const process = this.spawn(clientId, { env: {}, execArgv: [], gpuIds: [], logger: this.options.logger.child({ worker: clientId }), displayName: `idle ${clientId}` }, true);
      this.idle.push({ process });
    }
  }

  /** Kill the idle workers; resolves when they are gone. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.idle.splice(0).map((worker) => {
        if (!worker.process.running) return undefined;
        worker.process.kill('SIGKILL');
        return worker.process.exited;
      }),
    );
  }

  private newId(): string {
    return `${this.options.idPrefix ?? 'w'}${this.nextWorker++}`;
  }

  private spawn(clientId: string, options: { env: Record<string, string>; execArgv: string[]; gpuIds: string[]; logger: Logger; displayName: string }, idle: boolean): WorkerProcess {
    const process: WorkerProcess = new WorkerProcess(
      clientId,
      {
        headAddress: this.headAddress,
        clientId,
        listenAddress: `unix:${join(this.options.socketDirectory, `${clientId}.sock`)}`,
        shmDirectory: this.options.shmDirectory,
        spillDirectory: this.options.spillDirectory,
        logLevel: this.options.logger.level,
        ...(this.options.cluster === undefined ? {} : { cluster: this.options.cluster }),
      },
      { ...options, execArgv: [...this.options.workerExecArgv, ...options.execArgv] },
      (cause) => {
        this.pendingAssignments.delete(process);
        const index = idle ? this.idle.findIndex((worker) => worker.process === process) : -1;
        if (index < 0) {
          this.onExit(process.clientId, cause);
          return;
        }
        this.idle.splice(index, 1);
        if (!this.closing) this.options.logger.warn({ worker: clientId, cause: cause.reason }, 'a prestarted worker died before it was used');
      },
    );
    return process;
  }
}
