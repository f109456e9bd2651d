/**
 * A real Slurm cluster on one machine, for tests and benches: `slurmctld` in one network-namespace host and one `slurmd` per
 * node in hosts of their own (see `netns.ts`: addresses from 198.18.0.0/15, a private bridge), all sharing one
 * `munged` whose socket and key live in a temp directory with `slurm.conf`, the state and the logs.
 *
 * ```
 *   h0: munged, slurmctld (198.18.n.1:6817)     client commands (sbatch, squeue, scancel) run here too
 *   h1: slurmd sn0 (198.18.n.2)   h2: slurmd sn1 (198.18.n.3)   ...   (n = 0, or a /24 of its own when attached)
 * ```
 *
 * Why namespaces and not several `slurmd -N` on loopback: each node must have an address of its own, because the
 * posttrain agents a job starts on it listen on their node's address and the head on the first node must be
 * reached at Slurm's `NodeAddr`, as on a real cluster; Debian's Slurm is also not built with
 * `--enable-multiple-slurmd`, and every daemon in its own namespace keeps ports (6817, 6818) from colliding with a
 * second cluster of a test file running at the same time.
 *
 * No cgroups, accounting or MPI plugins: `proctrack/linuxproc` and `task/none` run in a container, and
 * `cgroup.conf` names cgroup v1 explicitly because Slurm's autodetection fails on a tmpfs `/sys/fs/cgroup`.
 *
 * Teardown (`destroy()`, also on process exit): every job is cancelled, every process left in the cluster's
 * namespaces (daemons, `slurmstepd`s and what jobs started) is SIGKILLed, then the namespaces and the temp
 * directory are deleted.
 *
 * @example
 * const slurm = await startSlurmCluster({ nodes: 2, cpusPerNode: 2 });
 * const job = slurm.submit(['--nodes=2', 'job.sbatch']);
 * await slurm.waitForJobEnd(job);
 * slurm.destroy();
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createNetnsCluster, destroyAtExit, netnsSupport, type NetnsCluster, type NetnsHost } from './netns.ts';

const execFileAsync = promisify(execFile);
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The daemons a test cluster needs, all from Debian's `slurm-wlm` and `munge`. */
const DAEMONS = ['munged', 'slurmctld', 'slurmd', 'sbatch'];

export interface SlurmClusterOptions {
  /** Number of compute nodes (named sn0, sn1, ...). */
  nodes: number;
  /** CPUs each node offers. */
  cpusPerNode?: number;
  /** Memory each node offers, in MB. */
  memoryMbPerNode?: number;
  /** Seconds between Slurm's SIGTERM and SIGKILL when a job ends or is cancelled (slurm.conf `KillWait`). */
  killWaitSeconds?: number;
  /** Give the test process an address on the cluster's bridge (`net.testAddress`), e.g. to be a posttrain driver. */
  attachTestProcess?: boolean;
}

export interface SlurmNode {
  /** Slurm's node name, e.g. `sn0`. */
  name: string;
  host: NetnsHost;
}

/** A job's state as `squeue`/`scontrol` report it: PENDING, RUNNING, COMPLETED, CANCELLED, FAILED, ... */
export type SlurmJobState = string;

export interface SlurmTestCluster {
  net: NetnsCluster;
  /** Temp directory with slurm.conf, the munge key and socket, state and logs. */
  directory: string;
  /** Path of slurm.conf; Slurm clients find it through `SLURM_CONF`. */
  conf: string;
  nodes: SlurmNode[];
  /** Run a Slurm client (`sbatch`, `squeue`, `scancel`, `scontrol`, ...) against this cluster; returns its stdout. */
  command(name: string, args: string[], env?: NodeJS.ProcessEnv): string;
  /** The same, without blocking the event loop. */
  commandAsync(name: string, args: string[]): Promise<string>;
  /** `sbatch --parsable <args>`; returns the job id. `env` is the job's environment (`--export=ALL` of it). */
  submit(args: string[], env?: NodeJS.ProcessEnv): string;
  /** The job's state from `scontrol show job` (kept by slurmctld after the job ended), undefined once forgotten. */
  jobState(jobId: string): Promise<SlurmJobState | undefined>;
  /** Resolves with the job's final state once it left the queue; rejects after `timeoutMs` with the job's output. */
  waitForJobEnd(jobId: string, timeoutMs?: number, outputFile?: string): Promise<SlurmJobState>;
  /** Resolves once `squeue` shows the job running. */
  waitForJobRunning(jobId: string, timeoutMs?: number): Promise<void>;
  /**
   * Start a posttrain head (`recipe cluster start --head`) next to slurmctld, for jobs' agents to join: resolves
   * with its `host:port` once it listens. With `attachTestProcess`, the test process can be its driver.
   */
  startPosttrainHead(token: string): Promise<string>;
  /** Cancel every job, kill every process in the cluster's namespaces, delete the namespaces and files. Idempotent. */
  destroy(): void;
}

/** Whether this machine can run a test Slurm: namespaces (root, iproute2) and the daemons installed. */
export function slurmSupport(): { ok: true } | { ok: false; reason: string } {
  const netns = netnsSupport();
  if (!netns.ok) return netns;
  for (const daemon of DAEMONS) {
    try {
      execFileSync('sh', ['-c', `command -v ${daemon}`], { stdio: 'ignore' });
    } catch {
      return { ok: false, reason: `\`${daemon}\` is not installed: apt-get install slurm-wlm munge` };
    }
  }
  return { ok: true };
}

function slurmConf(options: Required<SlurmClusterOptions>, directory: string, controller: NetnsHost, nodes: SlurmNode[]): string {
  // slurmctld refuses to start unless SlurmctldHost names this machine's short host name.
  const controllerName = hostname().split('.')[0] as string;
  const nodeLines = nodes.map((node) => `NodeName=${node.name} NodeAddr=${node.host.address} CPUs=${options.cpusPerNode} RealMemory=${options.memoryMbPerNode} State=UNKNOWN`);
  return [
    `ClusterName=${path.basename(directory).replace(/[^a-z0-9]/gi, '').toLowerCase().slice(-20)}`,
    `SlurmctldHost=${controllerName}(${controller.address})`,
    'SlurmctldPort=6817',
    'SlurmdPort=6818',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${directory}/munge.socket`,
    'SlurmUser=root',
    'SlurmdUser=root',
    `StateSaveLocation=${directory}/state`,
    `SlurmdSpoolDir=${directory}/spool/%n`,
    `SlurmctldPidFile=${directory}/slurmctld.pid`,
    `SlurmdPidFile=${directory}/slurmd-%n.pid`,
    `SlurmctldLogFile=${directory}/log/slurmctld.log`,
    `SlurmdLogFile=${directory}/log/slurmd-%n.log`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'SwitchType=switch/none',
    'MpiDefault=none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_CPU_Memory',
    // A job that names no memory takes a share per CPU, not the whole node, so two small jobs fit one node.
    'DefMemPerCPU=256',
    'ReturnToService=2',
    // SIGTERM -> SIGKILL on a plain scancel or the time limit: what a posttrain driver has to finish its step and
    // checkpoint while the head, agents and workers keep serving it (runtime/cluster/slurm-signals.ts). 30 s is
    // Slurm's default; a test on a loaded machine may give more.
    `KillWait=${options.killWaitSeconds}`,
    // Ended jobs stay visible to `scontrol show job` long enough for a test to read how they ended.
    'MinJobAge=300',
    // Fast scheduling: a test submits and waits, nothing else competes.
    'SchedulerParameters=sched_interval=1',
    ...nodeLines,
    `PartitionName=debug Nodes=${nodes.map((node) => node.name).join(',')} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n');
}

/** Start munged, slurmctld and one slurmd per node; resolves once `sinfo` shows every node idle. */
export async function startSlurmCluster(options: SlurmClusterOptions): Promise<SlurmTestCluster> {
  const resolved: Required<SlurmClusterOptions> = { cpusPerNode: 2, memoryMbPerNode: 2048, killWaitSeconds: 30, attachTestProcess: false, ...options };
  // Before the netns harness installs its own exit handler, so that ours runs first (it needs the namespaces).
  const net = createNetnsCluster({ hosts: 1 + resolved.nodes, attachTestProcess: resolved.attachTestProcess });
  const directory = mkdtempSync(path.join(tmpdir(), 'posttrain-slurm-'));
  const controller = net.hosts[0] as NetnsHost;
  const nodes: SlurmNode[] = net.hosts.slice(1).map((host, index) => ({ name: `sn${index}`, host }));
  const conf = path.join(directory, 'slurm.conf');
  const key = path.join(directory, 'munge.key');
  try {
    for (const sub of ['state', 'spool', 'log']) mkdirSync(path.join(directory, sub));
    writeFileSync(conf, slurmConf(resolved, directory, controller, nodes));
    writeFileSync(path.join(directory, 'cgroup.conf'), 'CgroupPlugin=cgroup/v1\n');
    writeFileSync(key, randomBytes(1024));
    chmodSync(key, 0o600);
  } catch (error) {
    // Nothing runs yet: drop what was made so far.
    net.destroy();
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  const env = { ...process.env, SLURM_CONF: conf };
  const daemons: ChildProcess[] = [];
  const daemon = (host: NetnsHost, command: string, args: string[], label: string) => {
    const child = net.spawn(host, command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)));
    child.once('exit', (code, signal) => {
      if (!destroyed) process.stderr.write(`slurm harness: ${label} exited (${signal ?? code}):\n${stderr}\n`);
    });
    daemons.push(child);
  };
  let destroyed = false;

  const command = (name: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    execFileSync('ip', ['netns', 'exec', controller.namespace, name, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const commandAsync = async (name: string, args: string[]) =>
    (await execFileAsync('ip', ['netns', 'exec', controller.namespace, name, ...args], { env, encoding: 'utf8' })).stdout;

  const cluster: SlurmTestCluster = {
    net,
    directory,
    conf,
    nodes,
    command,
    commandAsync,
    submit(args, jobEnv = {}) {
      return command('sbatch', ['--parsable', ...args], jobEnv).trim().split(';')[0] as string;
    },
    async jobState(jobId) {
      try {
        const shown = await commandAsync('scontrol', ['show', 'job', jobId]);
        return /JobState=(\S+)/.exec(shown)?.[1];
      } catch {
        return undefined;
      }
    },
    async waitForJobEnd(jobId, timeoutMs = 120_000, outputFile) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await cluster.jobState(jobId);
        if (state !== undefined && !['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED'].includes(state)) return state;
        if (Date.now() > deadline) {
          let output = '';
          try {
            output = outputFile ? readFileSync(outputFile, 'utf8').slice(-6_000) : '';
          } catch {
            // No output yet.
          }
          throw new Error(`Slurm job ${jobId} still ${state} after ${timeoutMs} ms; its output:\n${output}`);
        }
        await sleep(250);
      }
    },
    async waitForJobRunning(jobId, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await cluster.jobState(jobId);
        if (state === 'RUNNING') return;
        if (state !== 'PENDING' && state !== 'CONFIGURING' && state !== undefined) throw new Error(`Slurm job ${jobId} is ${state}, not running`);
        if (Date.now() > deadline) throw new Error(`Slurm job ${jobId} still ${state} after ${timeoutMs} ms`);
        await sleep(200);
      }
    },
    async startPosttrainHead(token) {
      const headEnv: NodeJS.ProcessEnv = { ...env, POSTTRAIN_TOKEN: token, POSTTRAIN_LOG_FORMAT: 'json', POSTTRAIN_LOG_LEVEL: 'info' };
      delete headEnv.VITEST;
      const recipe = path.join(repositoryRoot, 'bin', 'recipe.js');
      // A lenient node timeout: on a loaded 2-core CI machine an agent booting workers can miss heartbeats for seconds.
      const args = [recipe, 'cluster', 'start', '--head', '--host', controller.address, '--port', '6380', '--state', path.join(directory, 'head.sqlite'), '--node-timeout-ms', '60000'];
      const head = net.spawn(controller, process.execPath, args, { env: headEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        let output = '';
        const take = (chunk: Buffer) => {
          output = (output + chunk.toString('utf8')).slice(-8_000);
          if (output.includes('head listening on')) resolve();
        };
        head.stdout?.on('data', take);
        head.stderr?.on('data', take);
        head.once('exit', (code) => reject(new Error(`the posttrain head exited (${code}):\n${output}`)));
      });
      return `${controller.address}:6380`;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      forget();
      try {
        command('scancel', ['--user=root']);
      } catch {
        // Controller already gone; the processes die below anyway.
      }
      // Whatever runs in our namespaces: daemons, slurmstepds (not children of the slurmd we spawned) and job steps.
      for (const host of net.hosts) {
        let pids: string[] = [];
        try {
          pids = execFileSync('ip', ['netns', 'pids', host.namespace], { encoding: 'utf8' }).split('\n').filter((pid) => pid.trim() !== '');
        } catch {
          // Namespace already gone.
        }
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // Exited meanwhile.
          }
        }
      }
      for (const child of daemons) child.kill('SIGKILL');
      net.destroy();
      // POSTTRAIN_SLURM_KEEP=1 keeps the logs (slurmctld, slurmd, the jobs' output) for a post-mortem.
      if (process.env.POSTTRAIN_SLURM_KEEP === '1') process.stderr.write(`slurm harness: kept ${directory}\n`);
      else rmSync(directory, { recursive: true, force: true });
    },
  };
  // A test run that exits without `destroy()` still leaves no daemon behind.
  const forget = destroyAtExit(cluster);

  try {
    // munged in the controller's namespace: its socket is a file, which every namespace of this machine reaches.
    daemon(controller, 'munged', ['--foreground', '--force', `--socket=${directory}/munge.socket`, `--key-file=${key}`, `--log-file=${directory}/log/munged.log`, `--pid-file=${directory}/munged.pid`, `--seed-file=${directory}/munged.seed`], 'munged');
    await waitFor(() => {
      try {
        execFileSync('munge', ['-n', '-S', `${directory}/munge.socket`], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    }, 15_000, 'munged to answer');
    daemon(controller, 'slurmctld', ['-D', '-i'], 'slurmctld');
    for (const node of nodes) daemon(node.host, 'slurmd', ['-D', '-N', node.name], `slurmd ${node.name}`);
    let last = '';
    await waitFor(async () => {
      try {
        last = await commandAsync('sinfo', ['--noheader', '--Node', '--format=%N %t']);
      } catch (error) {
        last = (error as Error).message;
        return false;
      }
      const states = new Map(last.trim().split('\n').map((line) => line.trim().split(/\s+/) as [string, string]));
      return nodes.every((node) => states.get(node.name) === 'idle');
    }, 60_000, () => `every node idle in sinfo (last: ${last.trim()}; logs in ${directory}/log)`);
  } catch (error) {
    cluster.destroy();
    throw error;
  }
  return cluster;
}

async function waitFor(ready: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`slurm harness: timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(200);
  }
}
