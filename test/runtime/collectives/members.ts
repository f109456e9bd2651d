import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createCommunicator,
  createUniqueId,
  type CallOptions,
  type CollectiveBackendName,
  type Communicator,
  type CommunicatorOptions,
  type ReduceOptions,
  type UniqueIdOptions,
} from '../../../runtime/collectives/index.ts';

/**
 * A group member as the conformance suite sees it: something that can create a unique id, join a group and run
 * collectives, whether it lives in the test process, in a forked process, or in a process inside another network
 * namespace. Processes are what actors are, so the process kinds exercise the real thing (sockets between
 * processes, SIGKILL on a crash).
 */
export interface Member {
  /** For failure messages: `in-process 2`, `pid 4242 in pt-ab12-h1`. */
  readonly label: string;
  /** Address this member's TCP listeners use (loopback, or its namespace's address). */
  readonly host: string;
  readonly alive: boolean;
  createUniqueId(options: UniqueIdOptions): Promise<string>;
  join(uniqueId: string, options: CommunicatorOptions): Promise<void>;
  allreduce(data: Float32Array, options?: ReduceOptions): Promise<Float32Array>;
  broadcast(data: Float32Array, root: number, options?: CallOptions): Promise<Float32Array>;
  allgather(data: Float32Array, options?: CallOptions): Promise<Float32Array>;
  reduceScatter(data: Float32Array, options?: ReduceOptions): Promise<Float32Array>;
  barrier(options?: CallOptions): Promise<void>;
  /** Leave the group (`communicator.destroy()`); the member stays usable for the next group. */
  destroy(): Promise<void>;
  /** Die abruptly: SIGKILL for a process, dropped sockets for an in-process member. */
  crash(): Promise<void>;
}

/** Members of one kind for one backend, reused across tests; crashed members are replaced on demand. */
export interface MemberPool {
  readonly backend: CollectiveBackendName;
  readonly kind: string;
  /** `count` live members without a group. */
  take(count: number): Promise<Member[]>;
  /** A member that is not one of those `take` returns (a warm spare joining a re-formed group). */
  spare(): Promise<Member>;
  close(): Promise<void>;
}

/** An error thrown in another process, with the fields tests look at. */
export class RemoteError extends Error {
  readonly code: string;
  readonly ranks: number[] | undefined;

  constructor(data: { name: string; code: string; message: string; ranks?: number[] }) {
    super(data.message);
    this.name = data.name;
    this.code = data.code;
    this.ranks = data.ranks;
  }
}

class InProcessMember implements Member {
  alive = true;
  private communicator: Communicator | undefined;

  constructor(
    readonly label: string,
    readonly host: string,
  ) {}

  createUniqueId(options: UniqueIdOptions): Promise<string> {
    return createUniqueId(options);
  }
  async join(uniqueId: string, options: CommunicatorOptions): Promise<void> {
    this.communicator = await createCommunicator(uniqueId, options);
  }
  allreduce(data: Float32Array, options?: ReduceOptions): Promise<Float32Array> {
    return this.current().allreduce(data, options);
  }
  broadcast(data: Float32Array, root: number, options?: CallOptions): Promise<Float32Array> {
    return this.current().broadcast(data, root, options);
  }
  allgather(data: Float32Array, options?: CallOptions): Promise<Float32Array> {
    return this.current().allgather(data, options);
  }
  reduceScatter(data: Float32Array, options?: ReduceOptions): Promise<Float32Array> {
    return this.current().reduceScatter(data, options);
  }
  barrier(options?: CallOptions): Promise<void> {
    return this.current().barrier(options);
  }
  async destroy(): Promise<void> {
    await this.communicator?.destroy();
    this.communicator = undefined;
  }
  async crash(): Promise<void> {
    (this.communicator as { simulateCrash?: () => void } | undefined)?.simulateCrash?.();
    this.communicator = undefined;
    this.alive = false;
  }
  private current(): Communicator {
    if (!this.communicator) throw new Error(`${this.label} has no communicator`);
    return this.communicator;
  }
}

/**
 * A pool over `make`: live members are kept for the next test, crashed ones replaced on demand, spares made fresh.
 * `close` is given the members the pool keeps (a kind that tracks every member it made closes those instead).
 *
 * @example
 * reusingPool('shm', 'in-process ranks', async () => new InProcessMember('in-process 0', '127.0.0.1'), (kept) => Promise.all(kept.map((member) => member.destroy())));
 */
export function reusingPool<M extends Member>(backend: CollectiveBackendName, kind: string, make: () => Promise<M>, close: (kept: M[]) => Promise<unknown>): MemberPool {
  let members: M[] = [];
  return {
    backend,
    kind,
    async take(count) {
      members = members.filter((member) => member.alive);
      const missing = Math.max(0, count - members.length);
      members.push(...(await Promise.all(Array.from({ length: missing }, () => make()))));
      return members.slice(0, count);
    },
    spare: make,
    async close() {
      await close(members);
    },
  };
}

/** Several ranks in the test process (fast; most conformance cases need nothing more). */
export function inProcessPool(backend: CollectiveBackendName): MemberPool {
  let created = 0;
  const make = async (): Promise<InProcessMember> => new InProcessMember(`in-process ${created++}`, '127.0.0.1');
  return reusingPool(backend, 'in-process ranks', make, (kept) => Promise.all(kept.map((member) => member.destroy())));
}

/** A member in a child process speaking the rank-worker protocol. */
export class ProcessMember implements Member {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private exited = false;
  readonly ready: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
    readonly host: string,
  ) {
    this.ready = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.on('message', (message: { ready?: boolean; id?: number; result?: unknown; error?: ConstructorParameters<typeof RemoteError>[0] }) => {
        if (message.ready) return resolve();
        const waiter = this.pending.get(message.id as number);
        this.pending.delete(message.id as number);
        if (message.error) waiter?.reject(new RemoteError(message.error));
        else waiter?.resolve(message.result);
      });
      child.once('exit', (code, signal) => {
        this.exited = true;
        const error = new Error(`${label} exited (${signal ?? code}) before answering`);
        reject(error);
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      });
    });
  }

  get alive(): boolean {
    return !this.exited && this.child.exitCode === null && this.child.signalCode === null;
  }

  createUniqueId(options: UniqueIdOptions): Promise<string> {
    return this.call('createUniqueId', options) as Promise<string>;
  }
  async join(uniqueId: string, options: CommunicatorOptions): Promise<void> {
    await this.call('join', uniqueId, options);
  }
  allreduce(data: Float32Array, options: ReduceOptions = {}): Promise<Float32Array> {
    return this.call('allreduce', data, options) as Promise<Float32Array>;
  }
  broadcast(data: Float32Array, root: number, options: CallOptions = {}): Promise<Float32Array> {
    return this.call('broadcast', data, root, options) as Promise<Float32Array>;
  }
  allgather(data: Float32Array, options: CallOptions = {}): Promise<Float32Array> {
    return this.call('allgather', data, options) as Promise<Float32Array>;
  }
  reduceScatter(data: Float32Array, options: ReduceOptions = {}): Promise<Float32Array> {
    return this.call('reduceScatter', data, options) as Promise<Float32Array>;
  }
  async barrier(options: CallOptions = {}): Promise<void> {
    await this.call('barrier', options);
  }
  async destroy(): Promise<void> {
    if (this.alive) await this.call('destroy');
  }
  async crash(): Promise<void> {
    await this.stop('SIGKILL');
  }

  /** End the process (SIGTERM unless told otherwise) and wait until it is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    await exited;
  }

  private call(command: string, ...args: unknown[]): Promise<unknown> {
    if (!this.alive) return Promise.reject(new Error(`${this.label} is not running`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, command, args });
    });
  }
}

const workerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rank-worker.ts');
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The command line that starts a rank worker (for `ip netns exec ... <command>`). */
export function rankWorkerCommand(): { command: string; args: string[]; cwd: string } {
  return { command: process.execPath, args: ['--import', 'tsx', workerPath], cwd: repositoryRoot };
}

/** Members in processes made by `spawn` (a fork here, or a process in a network namespace). */
export function processPool(backend: CollectiveBackendName, kind: string, spawn: (index: number) => ProcessMember): MemberPool {
  let created = 0;
  const all: ProcessMember[] = [];
  const make = async (): Promise<ProcessMember> => {
    const member = spawn(created++);
    all.push(member);
    await member.ready;
    return member;
  };
  return reusingPool(backend, kind, make, () => Promise.all(all.map((member) => member.stop())));
}

/** Ranks in forked child processes on this host (loopback). */
export function forkedPool(backend: CollectiveBackendName): MemberPool {
  return processPool(backend, 'forked processes', (index) => {
    const child = fork(workerPath, [], {
      cwd: repositoryRoot,
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new ProcessMember(child, `forked rank process ${index} (pid ${child.pid})`, '127.0.0.1');
  });
}
