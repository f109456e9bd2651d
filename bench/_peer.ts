/**
 * Running a benchmark's peer (a reference implementation in another stack) in the same invocation, so ours and
 * the peer's figures come from the same machine under the same load. Peers live in `<repo>/../shared/peers/`.
 * A peer that cannot run (no python3, no torch) is reported with the reason, never silently dropped.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Python used for peers (Debian's, where python3-torch installs). */
export const PYTHON = '/usr/bin/python3';

/** `<repo>/../shared/peers` */
export function peersDirectory(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'peers');
}

/** Why a Python peer cannot run here, or undefined when it can (`modules` must import). */
export function pythonPeerUnavailable(script: string, modules: string[]): string | undefined {
  const path = join(peersDirectory(), script);
  if (!existsSync(path)) return `peer script ${path} not found`;
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  try {
    execFileSync(PYTHON, ['-c', modules.map((module) => `import ${module}`).join('; ')], { stdio: 'pipe', timeout: 60_000 });
    return undefined;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? error).trim().split('\n').pop();
    return `${PYTHON} cannot import ${modules.join(', ')} (${stderr}); on Debian: apt-get install python3-torch libopenblas0-pthread`;
  }
}

/**
 * Runs a Python peer that prints one JSON line on stdout and returns it parsed.
 *
 * @example
 * const peer = await runPythonPeer('torch_rlhf_step.py', ['--threads', '2']);
 */
export function runPythonPeer(script: string, args: string[], timeoutMs = 900_000, options: { peakRss?: boolean } = {}): Promise<Record<string, unknown>> {
  const path = join(peersDirectory(), script);
  // With peakRss, the script runs inside a wrapper that adds the process's peak resident set to its JSON line.
  const argv = options.peakRss ? ['-c', PEAK_RSS_WRAPPER, path, ...args] : [path, ...args];
  return new Promise((resolvePeer, reject) => {
    execFile(PYTHON, argv, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`peer ${script} failed: ${error.message}\n${stderr.slice(-2000)}`));
        return;
      }
      const line = stdout.trim().split('\n').filter((text) => text.startsWith('{')).pop();
      if (!line) {
        reject(new Error(`peer ${script} printed no JSON line; stdout was: ${stdout.slice(-500)}`));
        return;
      }
      resolvePeer(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

const PEAK_RSS_WRAPPER = `
import contextlib, io, json, resource, runpy, sys
sys.argv = sys.argv[1:]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    runpy.run_path(sys.argv[0], run_name='__main__')
line = [text for text in out.getvalue().splitlines() if text.startswith('{')][-1]
result = json.loads(line)
result['peak_rss_bytes'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(result))
`;

/** ours / peer, rounded; null when either side is missing or zero. */
export function ratio(ours: number | undefined, peer: number | undefined): number | null {
  if (ours === undefined || peer === undefined || !Number.isFinite(ours) || !Number.isFinite(peer) || peer === 0) return null;
  return Math.round((ours / peer) * 1000) / 1000;
}

/** The machine the figures were taken on (load average included: the machine may be shared). */
export function machineInfo(): Record<string, unknown> {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The 1-minute load average, rounded. */
export function loadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}


/** What `aroundPeer` measured: ours before and after the peer, the peer's line, and the load after each side. */
export interface AroundPeer<T> {
  before: T;
  /** Undefined when the peer did not run (ours then runs once). */
  after: T | undefined;
  peer: Record<string, unknown> | undefined;
  /** Why the peer did not run, when it did not. */
  unavailable: string | undefined;
  /** 1-minute load average after ours and after the peer (null without a peer): a gap between them skews the ratio. */
  load: { after_ours: number; after_peer: number | null };
}

/**
 * Runs ours, then the Python peer `script`, then ours again, so that load that comes and goes on a shared machine
 * affects both sides alike; the caller takes medians over `before` and `after`.
 *
 * @example
 * const { before, after, peer } = await aroundPeer(runSteps, 'torch_rlhf_step.py', ['--iters', '5'], flags['no-peer']);
 */
export async function aroundPeer<T>(runOurs: () => Promise<T>, script: string, args: string[], skip: boolean | undefined): Promise<AroundPeer<T>> {
  const before = await runOurs();
  const afterOurs = loadAverage();
  const unavailable = skip ? 'skipped (--no-peer)' : pythonPeerUnavailable(script, ['torch']);
  const peer = unavailable ? undefined : await runPythonPeer(script, args);
  const afterPeer = loadAverage();
  const after = peer ? await runOurs() : undefined;
  return { before, after, peer, unavailable, load: { after_ours: afterOurs, after_peer: peer ? afterPeer : null } };
}
