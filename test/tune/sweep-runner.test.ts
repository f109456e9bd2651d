import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  createStudy,
  formatSweepProgress,
  loadStudy,
  MedianPruner,
  parseSearchSpace,
  RandomSampler,
  RELEASE_MS_KEY,
  runSweep,
  SqliteStorage,
  suggestFromSpace,
  SWEEP_OWNER_KEY,
  type SweepProgress,
} from '../../tune/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const space = parseSearchSpace({ lr: { type: 'float', low: 1e-4, high: 1e-1, log: true }, width: { type: 'categorical', choices: [16, 32, 64] } });

/** A fake training run: loss falls with steps and is lower for learning rates near 1e-2. */
const lossAt = (lr: number, step: number): number => Math.abs(Math.log10(lr) + 2) + 2 / (step + 1);

describe('runSweep', () => {
  it('runs trials concurrently, prunes weak ones, calls release in the same tick and records release_ms', async () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 3 }), pruner: new MedianPruner({ nStartupTrials: 3 }) });
    let running = 0;
    let maxRunning = 0;
    const releasedInTick: boolean[] = [];
    let releasesFinished = 0;
    const progress: SweepProgress[] = [];
    const summary = await runSweep({
      study,
      space,
      trials: 14,
      concurrency: 3,
      onProgress: (event) => progress.push(event),
      runTrial: async ({ params }, signals) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        let released = false;
        signals.onRelease(async () => {
          released = true;
          await sleep(15); // a placement group takes a moment to go away
          releasesFinished++;
        });
        try {
          for (let step = 0; step < 8; step++) {
            await sleep(2);
            if (signals.report(lossAt(Number(params.lr), step), step)) {
              releasedInTick.push(released && signals.signal.aborted);
              return NaN; // ignored: the trial is already pruned
            }
          }
          return lossAt(Number(params.lr), 7);
        } finally {
          running--;
        }
      },
    });
    const states = summary.trials.map((trial) => trial.state);
    expect(states).toHaveLength(14);
    expect(states.every((state) => state === 'COMPLETE' || state === 'PRUNED')).toBe(true);
    expect(maxRunning).toBe(3);
    const pruned = summary.trials.filter((trial) => trial.state === 'PRUNED');
    expect(pruned.length).toBeGreaterThan(0);
    expect(releasedInTick).toEqual(pruned.map(() => true));
    // The runner waited for every release before it finished, and recorded how long each took.
    expect(releasesFinished).toBe(pruned.length);
    for (const trial of pruned) {
      expect(trial.userAttrs[RELEASE_MS_KEY]).toEqual(expect.any(Number));
      expect(trial.userAttrs[RELEASE_MS_KEY]).toBeGreaterThanOrEqual(0);
      expect(trial.value).toBe(trial.intermediateValues.get(trial.lastStep!));
    }
    expect(summary.releaseMs).toHaveLength(pruned.length);
    const last = progress[progress.length - 1]!;
    expect([last.running, last.complete + last.pruned, last.total]).toEqual([0, 14, 14]);
    expect(last.best?.number).toBe(study.bestTrial.number);
    expect(formatSweepProgress(last)).toMatch(new RegExp(`^trials 14/14 \\| running 0 \\| complete \\d+ \\| pruned \\d+ \\| failed 0 \\| best #${study.bestTrial.number} `));
    expect(summary.trials.every((trial) => (trial.systemAttrs[SWEEP_OWNER_KEY] as { pid: number }).pid === process.pid)).toBe(true);
  });

  it('a trial that throws fails alone; the sweep goes on and records the error', async () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 1 }) });
    const summary = await runSweep({
      study,
      space,
      trials: 5,
      concurrency: 2,
      runTrial: async ({ number }) => {
        if (number === 1) throw new Error('actor died');
        return number;
      },
    });
    expect(summary.trials.map((trial) => trial.state)).toEqual(['COMPLETE', 'FAIL', 'COMPLETE', 'COMPLETE', 'COMPLETE']);
    expect(summary.trials[1]!.userAttrs.error).toBe('actor died');
  });

  it('a search space that contradicts the study stops the sweep with an error naming the parameter', async () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 1 }) });
    await runSweep({ study, space, trials: 1, concurrency: 1, runTrial: async () => 1 });
    const changed = parseSearchSpace({ lr: { type: 'categorical', choices: [0.1, 0.01] } });
    await expect(runSweep({ study, space: changed, trials: 3, concurrency: 2, runTrial: async () => 1 })).rejects.toThrow(
      /parameter 'lr' was float and cannot become categorical/,
    );
    expect(study.trials.map((trial) => trial.state)).toEqual(['COMPLETE', 'FAIL']);
  });

  it('a RUNNING trial on another host whose heartbeat went stale is failed and re-run with the same parameters', async () => {
    const storage = SqliteStorage.open(':memory:');
    const study = createStudy({ storage, sampler: new RandomSampler({ seed: 2 }) });
    const orphan = study.ask();
    orphan.suggestFloat('lr', 1e-4, 1e-1, { log: true });
    orphan.suggestCategorical('width', [16, 32, 64]);
    storage.setTrialSystemAttr(orphan.trialId, SWEEP_OWNER_KEY, { host: 'another-host', pid: 1, sweep: 'x' });
    storage.recordHeartbeat(orphan.trialId);
    storage.db.prepare("UPDATE trial_heartbeats SET heartbeat = datetime('now', '-600 seconds')").run();
    const seen: { number: number; retryOf: number | undefined; lr: unknown }[] = [];
    const summary = await runSweep({
      study,
      space,
      trials: 3,
      concurrency: 1,
      heartbeat: { intervalSeconds: 1, gracePeriodSeconds: 5 },
      runTrial: async ({ number, retryOf, params }) => {
        seen.push({ number, retryOf, lr: params.lr });
        return 1;
      },
    });
    expect(summary.lost).toEqual([0]);
    expect(seen[0]).toEqual({ number: 1, retryOf: 0, lr: orphan.params.lr });
    expect(summary.trials.map((trial) => trial.state)).toEqual(['FAIL', 'COMPLETE', 'COMPLETE', 'COMPLETE']);
    expect(summary.trials[1]!.systemAttrs).toMatchObject({ failed_trial: 0, retry_history: [0] });
  });

  it('re-runs of lost trials run even when, queued, they already make up the target (no trial is left WAITING)', async () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 4 }) });
    const finishedRun = { host: hostname(), pid: process.pid, sweep: 'a-run-that-ended' };
    for (const state of ['COMPLETE', 'COMPLETE', 'RUNNING', 'RUNNING'] as const) {
      const trial = study.ask({}, { systemAttrs: { [SWEEP_OWNER_KEY]: finishedRun } });
      suggestFromSpace(trial, space);
      if (state === 'COMPLETE') study.tell(trial, 1);
    }
    const seen: (number | undefined)[] = [];
    const summary = await runSweep({ study, space, trials: 4, concurrency: 2, runTrial: async ({ retryOf }) => (seen.push(retryOf), 1) });
    expect(summary.lost).toEqual([2, 3]);
    expect(seen.sort()).toEqual([2, 3]);
    expect(summary.trials.map((trial) => trial.state)).toEqual(['COMPLETE', 'COMPLETE', 'FAIL', 'FAIL', 'COMPLETE', 'COMPLETE']);
  });

  it('a sweep that fails while a trial starts leaves no half-started trial behind, and the next run reaches the target', async () => {
    let dieOnStart = true;
    const sampler = Object.assign(new RandomSampler({ seed: 6 }), {
      beforeTrial: () => {
        if (dieOnStart) throw new Error('process died here');
      },
    });
    const study = createStudy({ sampler });
    await expect(runSweep({ study, space, trials: 2, concurrency: 1, runTrial: async () => 1 })).rejects.toThrow('process died here');
    // The trial, its owner and its parameters are one transaction: a start that fails (or a process that dies) midway
    // leaves nothing, where it used to leave a RUNNING trial that no later sweep could recognise as lost.
    expect(study.trials).toEqual([]);
    dieOnStart = false;
    const summary = await runSweep({ study, space, trials: 2, concurrency: 1, runTrial: async () => 1 });
    expect(summary.lost).toEqual([]);
    expect(summary.trials.map((trial) => trial.state)).toEqual(['COMPLETE', 'COMPLETE']);
  });

  it('a stop signal releases running trials, queues them again, and the next run finishes the sweep', async () => {
    const study = createStudy({ sampler: new RandomSampler({ seed: 5 }) });
    const controller = new AbortController();
    const released: number[] = [];
    let completed = 0;
    const first = await runSweep({
      study,
      space,
      trials: 8,
      concurrency: 2,
      signal: controller.signal,
      runTrial: async ({ number }, signals) => {
        signals.onRelease(() => void released.push(number));
        for (let step = 0; step < 50 && !signals.signal.aborted; step++) await sleep(2);
        if (signals.signal.aborted) throw signals.signal.reason;
        if (++completed === 3) controller.abort(new Error('Ctrl-C'));
        return number;
      },
    });
    expect(first.stopped).toBe(true);
    const stoppedTrials = first.trials.filter((trial) => trial.state === 'FAIL');
    expect(stoppedTrials.length).toBeGreaterThan(0);
    expect(released.sort()).toEqual(stoppedTrials.map((trial) => trial.number).sort());
    expect(stoppedTrials.every((trial) => trial.userAttrs.error === 'sweep stopped: Ctrl-C')).toBe(true);
    expect(first.trials.filter((trial) => trial.state === 'WAITING')).toHaveLength(stoppedTrials.length);

    const second = await runSweep({ study, space, trials: 8, concurrency: 2, runTrial: async ({ number }) => number });
    expect(second.stopped).toBe(false);
    expect(second.trials.filter((trial) => trial.state === 'COMPLETE')).toHaveLength(8);
    const reruns = second.trials.filter((trial) => trial.systemAttrs.failed_trial !== undefined);
    expect(reruns.map((trial) => trial.systemAttrs.failed_trial).sort()).toEqual(stoppedTrials.map((trial) => trial.number).sort());
  });

  it('resumes a killed sweep: lost trials are re-run once, finished ones never, and the study ends with exactly N', async () => {
    const url = `sqlite:///${join(mkdtempSync(join(tmpdir(), 'posttrain-sweep-')), 'sweep.db')}`;
    createStudy({ storage: url, studyName: 'killed' });
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'sweep-worker.ts'), url, 'killed', '12'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let completions = 0;
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        completions += chunk.toString().split('\n').filter((line) => line.startsWith('complete')).length;
        // Kill it while trials are in flight, as `kill -9` or a lost node would.
        if (completions >= 3) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => (code !== null && code !== 0 ? reject(new Error(`sweep worker exited ${code}: ${stderr}`)) : undefined));
    });
    await new Promise((resolve) => child.on('close', resolve));

    const before = loadStudy({ storage: url, studyName: 'killed' }).trials;
    const inFlight = before.filter((trial) => trial.state === 'RUNNING');
    const finished = before.filter((trial) => trial.state === 'COMPLETE');
    expect(inFlight.length).toBeGreaterThan(0);

    const study = loadStudy({ storage: url, studyName: 'killed', sampler: new RandomSampler({ seed: 9 }) });
    const summary = await runSweep({
      study,
      space: { x: { type: 'float', low: -1, high: 1, log: false }, n: { type: 'int', low: 1, high: 100, log: false, step: 1 } },
      trials: 12,
      concurrency: 4,
      runTrial: async ({ params }) => Number(params.x) ** 2,
    });
    expect(summary.lost.sort()).toEqual(inFlight.map((trial) => trial.number).sort());
    const after = summary.trials;
    const retries = after.filter((trial) => trial.systemAttrs.failed_trial !== undefined);
    expect(retries.map((trial) => trial.systemAttrs.failed_trial).sort()).toEqual(inFlight.map((trial) => trial.number).sort());
    for (const retry of retries) {
      expect(retry.state).toBe('COMPLETE');
      expect(retry.params).toEqual(before[retry.systemAttrs.failed_trial as number]!.params);
    }
    // Finished trials are untouched; the study holds 12 finished trials besides the superseded failures.
    for (const trial of finished) expect(after[trial.number]).toEqual(trial);
    expect(after.filter((trial) => trial.state === 'COMPLETE')).toHaveLength(12);
    expect(after.filter((trial) => trial.state === 'FAIL')).toHaveLength(inFlight.length);
    expect(new Set(after.map((trial) => trial.number)).size).toBe(after.length);
  }, 60_000);
});
