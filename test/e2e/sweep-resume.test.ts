import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadStudy, type FrozenTrial } from '../../tune/index.ts';
import type { SweepReport } from '../../tune/sweep-launcher.ts';
import { RUN_DIRECTORY_KEY } from '../../tune/trial-runner.ts';
import { describeWithOptuna, optuna } from '../interop/optuna.ts';

/**
 * `recipe sweep` killed with SIGKILL in the middle of its trials, then `recipe sweep --resume`: the study ends with
 * exactly the target number of trials, the lost ones re-run once with their parameters, the finished ones never;
 * the killed sweep's workers do not outlive it and the shared stages are not trained again.
 */
const SWEEP_FILE = 'test/tune/fixtures/tiny-ppo-sweep.ts';
const STUDY = 'tiny-ppo-resume';
const directory = mkdtempSync(join(tmpdir(), 'posttrain-sweep-resume-'));
const databasePath = join(directory, 'sweeps.db');
const storage = `sqlite:///${databasePath}`;
const runsDirectory = join(directory, 'runs');
const sweepDirectory = join(runsDirectory, STUDY);

function startSweep(...extra: string[]): ChildProcess {
  return spawn(process.execPath, ['bin/recipe.js', 'sweep', SWEEP_FILE, '--storage', storage, '--runs-dir', runsDirectory, '--log-level', 'warn', ...extra], {
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

function trialStates(): string[] {
  try {
    const database = new Database(databasePath, { readonly: true, fileMustExist: true });
    try {
      return (database.prepare('SELECT state FROM trials ORDER BY number').all() as { state: string }[]).map((row) => row.state);
    } finally {
      database.close();
    }
  } catch {
    return [];
  }
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let killedWorkers: number[];
let runningAtKill: number;
let withoutResume: { code: number | null; stderr: string };
let resumed: { code: number | null; stdout: string; stderr: string };
let sharedModelTime: number;
let trials: FrozenTrial[];

beforeAll(async () => {
  const first = startSweep();
  const firstDone = finished(first);
  // Killed once a trial has completed and others are mid-way: the shared stages are done and trials are lost.
  await until(() => {
    const states = trialStates();
    return states.includes('COMPLETE') && states.includes('RUNNING');
  }, 300_000, 'a complete and a running trial');
  killedWorkers = childPids(first.pid!);
  first.kill('SIGKILL');
  await firstDone;
  runningAtKill = trialStates().filter((state) => state === 'RUNNING').length;
  await until(() => killedWorkers.every((pid) => !alive(pid)), 15_000, "the killed sweep's workers to exit");
  sharedModelTime = statSync(join(sweepDirectory, 'sft', 'model.bin')).mtimeMs;

  withoutResume = await finished(startSweep());
  resumed = await finished(startSweep('--resume'));
  trials = loadStudy({ storage, studyName: STUDY }).trials;
}, 600_000);

describe('a killed sweep resumes with --resume', () => {
  it('needs --resume to continue a study that has trials (exit 2)', () => {
    expect(withoutResume.code).toBe(2);
    expect(withoutResume.stderr).toMatch(/name: study 'tiny-ppo-resume' already has \d+ trials .*pass --resume to continue it/);
  });

  it('ends with exactly the target number of trials: lost ones re-run once with their values, finished ones never', () => {
    expect(resumed.code, resumed.stderr).toBe(0);
    const report = JSON.parse(resumed.stdout) as SweepReport;
    const lost = trials.filter((trial) => trial.state === 'FAIL');
    expect(runningAtKill).toBeGreaterThan(0);
    expect(lost.map((trial) => trial.number)).toEqual(report.lost);
    expect(lost).toHaveLength(runningAtKill);
    expect(trials.filter((trial) => trial.state === 'COMPLETE')).toHaveLength(4);
    expect(trials.filter((trial) => trial.state === 'RUNNING' || trial.state === 'WAITING')).toEqual([]);
    expect(trials).toHaveLength(4 + lost.length);
    for (const trial of lost) {
      const retries = trials.filter((other) => other.systemAttrs.failed_trial === trial.number);
      expect(retries).toHaveLength(1);
      expect(retries[0]!.params).toEqual(trial.params);
      expect(retries[0]!.state).toBe('COMPLETE');
    }
    expect(report.trials).toMatchObject({ target: 4, complete: 4, failed: 0, retried: lost.length });
    expect(report.leaks).toEqual({ actors: 0, placementGroups: 0, resourcesFree: true });
  });

  it('reuses the shared stages and gives every trial that started training, lost or not, its own run directory', () => {
    expect(statSync(join(sweepDirectory, 'sft', 'model.bin')).mtimeMs).toBe(sharedModelTime);
    const trialDirectories = readdirSync(sweepDirectory).filter((name) => name.startsWith('trial-'));
    // A trial lost in the instant between its start and its trainer's start has none; every other one has its own.
    const recorded = trials.filter((trial) => trial.userAttrs[RUN_DIRECTORY_KEY] !== undefined);
    for (const trial of recorded) expect(trial.userAttrs[RUN_DIRECTORY_KEY]).toBe(join(sweepDirectory, `trial-${trial.number}`));
    expect(trialDirectories.sort()).toEqual(expect.arrayContaining(recorded.map((trial) => `trial-${trial.number}`)));
    expect(trialDirectories.every((name) => trials.some((trial) => `trial-${trial.number}` === name))).toBe(true);
    expect(trials.filter((trial) => trial.state === 'COMPLETE').every((trial) => recorded.includes(trial))).toBe(true);
  });
});

describeWithOptuna('the resumed study in Optuna', () => {
  it('sees every trial, the lost ones as FAIL with their retries', () => {
    const seen = optuna('dump', storage, STUDY, '--v320');
    expect(seen.trials.map((trial: { number: number; state: string }) => [trial.number, trial.state])).toEqual(trials.map((trial) => [trial.number, trial.state]));
    expect(seen.trials.filter((trial: { system_attrs: Record<string, unknown> }) => trial.system_attrs.failed_trial !== undefined)).toHaveLength(
      trials.filter((trial) => trial.state === 'FAIL').length,
    );
  });
});
