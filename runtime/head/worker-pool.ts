import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ActorDeathCause } from '../runtime-errors.ts';
import type { ActorCreateSpec } from '../control/control-plane.ts';
import { WorkerProcess } from './worker-process.ts';

/** What a worker runs, as the head tells it at start-up. */
export interface WorkerAssignment {
  spec: ActorCreateSpec;
  actorId: string;
  displayName: string;
  incarnation: number;
  nodeId: string;
  gpuIds: string[];
  namespace?: string;
}

/** A booted worker with no actor yet; `assign` is set once it has asked for its work. */
interface IdleWorker {
  clientId: string;
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
}

/**
 * Starts worker processes, and keeps `prestartWorkers` of them booted ahead of need so that creating or restarting
 * a CPU actor skips Node's and tsx's start-up (~0.5 s on two cores). A prestarted worker cannot serve an actor that
 * needs GPUs or its own environment or flags: `CUDA_VISIBLE_DEVICES` must be set before anything loads.
 */
export class WorkerPool {
  headAddress = '';
  private readonly idle: IdleWorker[] = [];
  private nextWorker = 1;
  private closing = false;

  constructor(
    private readonly options: WorkerPoolOptions,
    /** A worker that was given an actor ended. */
    private readonly onExit: (clientId: string, cause: ActorDeathCause) => void,
  ) {}

  /**
   * A process for an actor: a prestarted one when the actor is plain (a booted one first, else one still booting,
   * which is further along than a new process), or a new one. `assignment` is handed over when the worker asks.
   */
  start(
    plain: boolean,
    options: { env: Record<string, string>; execArgv: string[]; gpuIds: string[]; logger: Logger; displayName: string },
    assignment: () => WorkerAssignment,
  ): { clientId: string; process: WorkerProcess } {
    const ready = this.idle.findIndex((worker) => worker.assign !== undefined);
    const index = !plain ? -1 : ready >= 0 ? ready : this.idle.length > 0 ? 0 : -1;
    if (index < 0) {
      const clientId = `w${this.nextWorker++}`;
      return { clientId, process: this.spawn(clientId, options, false) };
    }
    const [worker] = this.idle.splice(index, 1) as [IdleWorker];
    worker.process.assign(options.displayName, options.logger);
    // A worker that has not asked yet gets its assignment from `assignmentFor` when it does.
    worker.assign?.(assignment());
    setImmediate(() => this.refill());
    return { clientId: worker.clientId, process: worker.process };
  }

  /** For a prestarted worker asking for work: resolves when an actor is assigned. Undefined for other workers. */
  waitForAssignment(clientId: string): Promise<WorkerAssignment> | undefined {
    const idle = this.idle.find((worker) => worker.clientId === clientId);
    if (!idle) return undefined;
    return new Promise((resolve) => (idle.assign = resolve));
  }

  refill(): void {
    while (!this.closing && this.idle.length < this.options.prestartWorkers) {
      const clientId = `w${this.nextWorker++}`;
      const process = this.spawn(clientId, { env: {}, execArgv: [], gpuIds: [], logger: this.options.logger.child({ worker: clientId }), displayName: `idle ${clientId}` }, true);
      this.idle.push({ clientId, process });
    }
  }

  /** Kill the idle workers; resolves when they are gone. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.idle.splice(0).map((worker) => {
        const child = worker.process.child;
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        return exited;
      }),
    );
  }

  private spawn(clientId: string, options: { env: Record<string, string>; execArgv: string[]; gpuIds: string[]; logger: Logger; displayName: string }, idle: boolean): WorkerProcess {
    return new WorkerProcess(
      {
        headAddress: this.headAddress,
        clientId,
        listenAddress: `unix:${join(this.options.socketDirectory, `${clientId}.sock`)}`,
        shmDirectory: this.options.shmDirectory,
        spillDirectory: this.options.spillDirectory,
        logLevel: this.options.logger.level,
      },
      { ...options, execArgv: [...this.options.workerExecArgv, ...options.execArgv] },
      (cause) => {
        const index = idle ? this.idle.findIndex((worker) => worker.clientId === clientId) : -1;
        if (index < 0) {
          this.onExit(clientId, cause);
          return;
        }
        this.idle.splice(index, 1);
        if (!this.closing) this.options.logger.warn({ worker: clientId, cause: cause.reason }, 'a prestarted worker died before it was used');
      },
    );
  }
}
