/**
 * `npm run bench -- sweep-storage [--trials N] [--peer-trials N] [--no-peer]`
 *
 * Study-storage throughput: per trial, ask with three parameters (log-float, int, categorical), 20 intermediate
 * reports, tell; random sampler so the figure is storage work. Every write is its own committed transaction
 * (25 per trial), as in Optuna. Optuna's RDBStorage on SQLite does the same work in the same run
 * (`../shared/peers/optuna_storage.py`) when `/usr/bin/python3` can import optuna.
 *
 * Durability: the default storage runs SQLite in WAL mode with synchronous=NORMAL (a commit survives any process
 * crash; an OS crash or power loss can drop the last commits). Optuna's SQLite default is a rollback journal with
 * synchronous=FULL. We also report synchronous=FULL (an fsync per commit) so the comparison can be made like for like.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStudy, NopPruner, RandomSampler, SqliteStorage } from '../tune/index.ts';
import { parseFlags } from './_flags.ts';

const PEER = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'peers', 'optuna_storage.py');
const PYTHON = '/usr/bin/python3';

/** Trials per second for the peer's exact workload against a fresh database. */
function measure(trials: number, synchronous: 'NORMAL' | 'FULL'): number {
  const directory = mkdtempSync(join(tmpdir(), 'posttrain-bench-'));
  const storage = SqliteStorage.open(join(directory, 'bench.db'), { synchronous });
  const study = createStudy({ storage, studyName: 'bench', direction: 'minimize', sampler: new RandomSampler({ seed: 0 }), pruner: new NopPruner() });
  const started = performance.now();
  for (let i = 0; i < trials; i++) {
    const trial = study.ask();
    const lr = trial.suggestFloat('lr', 1e-6, 1e-3, { log: true });
    const batch = trial.suggestInt('batch', 8, 64);
    trial.suggestCategorical('optimizer', ['adam', 'adamw', 'sgd']);
    for (let step = 0; step < 20; step++) trial.report(lr * (20 - step) + batch * 1e-3, step);
    study.tell(trial, lr + batch * 1e-3);
  }
  const seconds = (performance.now() - started) / 1000;
  storage.close();
  rmSync(directory, { recursive: true, force: true });
  return trials / seconds;
}

function runPeer(trials: number): { optuna_trials_per_s: number; optuna: string } | { skipped: string } {
  if (!existsSync(PEER)) return { skipped: `peer script not found at ${PEER}` };
  const probe = spawnSync(PYTHON, ['-c', 'import optuna'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `${PYTHON} cannot import optuna (apt-get install -y python3-optuna)` };
  const directory = mkdtempSync(join(tmpdir(), 'optuna-bench-'));
  const result = spawnSync(PYTHON, [PEER, '--trials', String(trials), '--db', join(directory, 'peer.db')], { encoding: 'utf8' });
  rmSync(directory, { recursive: true, force: true });
  if (result.status !== 0) return { skipped: `peer failed: ${result.stderr.trim().split('\n').pop()}` };
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as { optuna_trials_per_s: number; optuna: string };
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { trials: 'number', 'peer-trials': 'number', 'no-peer': 'boolean' });
  const trials = flags['trials'] ?? 1000;
  const peerTrials = flags['peer-trials'] ?? 200;
  measure(50, 'NORMAL'); // warm-up: JIT and prepared statements
  const normal = measure(trials, 'NORMAL');
  const full = measure(Math.max(50, Math.floor(trials / 4)), 'FULL');
  const peer = flags['no-peer'] ? { skipped: '--no-peer' } : runPeer(peerTrials);
  const round = (value: number): number => Math.round(value * 10) / 10;
  const report = {
    bench: 'sweep-storage',
    workload: 'ask (log-float, int, categorical) + 20 reports + tell per trial; random sampler; 25 committed writes per trial',
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    trials,
    durability: 'WAL + synchronous=NORMAL (default); trials_per_s_synchronous_full fsyncs every commit',
    trials_per_s: round(normal),
    trials_per_s_synchronous_full: round(full),
    ...('skipped' in peer
      ? { optuna_skipped: peer.skipped }
      : {
          optuna: peer.optuna,
          optuna_trials: peerTrials,
          optuna_trials_per_s: peer.optuna_trials_per_s,
          ratio: round(normal / peer.optuna_trials_per_s),
          ratio_synchronous_full: round(full / peer.optuna_trials_per_s),
        }),
    target_ratio: 5,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
