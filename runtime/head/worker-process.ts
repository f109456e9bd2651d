import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { forwardRecord } from '../logging.ts';
import type { ActorDeathCause } from '../runtime-errors.ts';
import type { WorkerHandle } from './worker-launcher.ts';

/** Everything a worker needs at start-up, passed in `POSTTRAIN_WORKER` (JSON). */
export interface WorkerBootstrap {
  headAddress: string;
  clientId: string;
  listenAddress: string;
  shmDirectory: string;
  spillDirectory: string;
  logLevel: string;
  /** Set on cluster nodes: how to serve callers on other machines (a gRPC listener) and reach other nodes. */
  cluster?: WorkerClusterBootstrap;
}

/** A cluster worker's gRPC settings: the host to listen on, the token and TLS files, transport timers. */
export interface WorkerClusterBootstrap {
  listenHost: string;
  token?: string;
  tls?: { certFile: string; keyFile: string; caFile?: string; requireClientCertificate?: boolean };
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  /** This node's object home (where objects put here are fetched by other nodes). */
  objectHome: string;
}

const workerMain = fileURLToPath(new URL('../worker/worker-main.ts', import.meta.url));
/** tsx's loader, resolved from posttrain's own dependencies so workers load TypeScript whatever the cwd. */
const tsxLoader = import.meta.resolve('tsx');

/**
 * One actor incarnation's process: `node --import tsx worker-main.ts`, with `CUDA_VISIBLE_DEVICES` in its
 * environment from the first instruction (a GPU engine reads it when it loads, so setting it later is too late).
 * Its stdout and stderr are read line by line into the driver's log, each line carrying the actor's name; pino
 * JSON lines from the worker's own logger are re-emitted at their level with their fields (`forwardRecord`: the
 * actor's name, role and node appear once). No line is dropped or deduplicated.
 */
export class WorkerProcess implements WorkerHandle {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private readonly stderrTail: string[] = [];
  private readonly oomKillsAtStart: number | undefined;
  private logger: Logger;
  private displayName: string;
  /** The id the process booted with (what it says hello with before it is assigned). */
  readonly bootId: string;

  constructor(
    /** The id the process is known by; a prestarted worker takes its actor's id when it is assigned (cluster nodes). */
    public clientId: string,
    bootstrap: WorkerBootstrap,
    options: { env: Record<string, string>; execArgv: string[]; gpuIds: string[] | undefined; logger: Logger; displayName: string },
    onExit: (cause: ActorDeathCause) => void,
  ) {
    this.logger = options.logger;
    this.displayName = options.displayName;
    this.bootId = clientId;
    const env: Record<string, string | undefined> = { ...process.env, ...options.env, POSTTRAIN_WORKER: JSON.stringify(bootstrap) };
    // An actor without GPUs sees none, so that it cannot grab a device another actor was given.
    if (options.gpuIds !== undefined) env.CUDA_VISIBLE_DEVICES = options.gpuIds.join(',');
    delete env.NODE_OPTIONS;
    this.oomKillsAtStart = readOomKills();
    this.child = spawn(process.execPath, ['--import', tsxLoader, ...options.execArgv, workerMain], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    forwardLines(this.child.stdout!, (line) => emit(this.logger, line, 'stdout', this.displayName));
    forwardLines(this.child.stderr!, (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      emit(this.logger, line, 'stderr', this.displayName);
    });
    let exited = false;
    let markExited: () => void = () => {};
    this.exited = new Promise((resolve) => (markExited = resolve));
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exited) return;
      exited = true;
      markExited();
      onExit(this.cause(code, signal));
    };
    this.child.once('exit', finish);
    this.child.once('error', (error) => {
      this.stderrTail.push(error.message);
      finish(null, null);
    });
  }

  /** A prestarted worker was given an actor: its output is now logged under the actor's name. */
  assign(displayName: string, logger: Logger): void {
    this.displayName = displayName;
    this.logger = logger;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Exit code / signal / OOM, with the last stderr line that explains it when there is one. */
  private cause(code: number | null, signal: NodeJS.Signals | null): ActorDeathCause {
    const tail = this.stderrTail.filter((line) => line.trim() !== '');
    const heapOom = tail.some((line) => /JavaScript heap out of memory|Reached heap limit|Allocation failed/.test(line));
    if (heapOom) return { kind: 'oom', reason: 'out of memory (JavaScript heap limit reached)', exitCode: code, signal };
    if (signal === 'SIGKILL' && this.oomKillsAtStart !== undefined && (readOomKills() ?? 0) > this.oomKillsAtStart) {
      return { kind: 'oom', reason: 'killed by the kernel OOM killer (SIGKILL while the cgroup oom_kill count rose)', exitCode: code, signal };
    }
    const last = [...tail].reverse().find((line) => !line.startsWith('{') && !/^\s+at /.test(line));
    const hint = last === undefined ? '' : ` (last stderr line: ${last.trim().slice(0, 300)})`;
    if (signal !== null) return { kind: 'signal', reason: `killed by ${signal}${hint}`, exitCode: code, signal };
    return { kind: 'exit', reason: `exited with code ${code}${hint}`, exitCode: code, signal };
  }
}

function readOomKills(): number | undefined {
  try {
    const match = /oom_kill (\d+)/.exec(readFileSync('/sys/fs/cgroup/memory.events', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
    partial = '';
  });
}

function emit(log: Logger, line: string, stream: 'stdout' | 'stderr', displayName: string): void {
  if (line.startsWith('{')) {
    try {
      if (forwardRecord(log, JSON.parse(line) as Record<string, unknown>)) return;
    } catch {
      // Not a log record: forward as text.
    }
  }
  log[stream === 'stdout' ? 'info' : 'warn']({ stream }, `[${displayName}] ${line}`);
}
