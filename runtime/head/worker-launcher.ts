import type { Logger } from 'pino';
import type { ActorDeathCause } from '../runtime-errors.ts';
import type { WorkerAssignment } from './worker-pool.ts';

/** A running (or starting) worker process of an actor incarnation, wherever it runs. */
export interface WorkerHandle {
  /** The process's id in the runtime (`w3` locally, `a12.1` on a cluster node). */
  readonly clientId: string;
  readonly pid: number | undefined;
  /** False once the process is known to have ended. */
  readonly running: boolean;
  /** SIGKILL the process; its end is reported through the launcher's exit callback. */
  kill(): void;
  /** Resolves when the process has ended. */
  readonly exited: Promise<void>;
}

/** What the head asks for when an actor incarnation needs a process. */
export interface LaunchRequest {
  nodeId: string;
  actorId: string;
  incarnation: number;
  /** No GPUs, environment or flags of its own: a prestarted worker can take it. */
  plain: boolean;
  env: Record<string, string>;
  execArgv: string[];
  gpuIds: string[];
  logger: Logger;
  displayName: string;
}

/**
 * Starts worker processes for the head: the embedded runtime's `WorkerPool` starts them on this machine, a
 * cluster head asks the node agent of `request.nodeId` over gRPC. Either way, when a started worker ends the
 * launcher calls the `onExit` it was made with, once.
 */
export interface WorkerLauncher {
  start(request: LaunchRequest, assignment: () => WorkerAssignment): WorkerHandle;
  /** For a prestarted worker asking for work: resolves when an actor is assigned. Undefined for other workers. */
  waitForAssignment?(clientId: string): Promise<WorkerAssignment> | undefined;
  /** Kill idle workers (and, for a pool, stop prestarting). */
  close(): Promise<void>;
}

export type WorkerExitListener = (clientId: string, cause: ActorDeathCause) => void;
