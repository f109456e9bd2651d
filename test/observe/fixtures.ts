import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../models/rng.ts';
import { MetricsWriter } from '../../observe/index.ts';
import type { MetricsRecord, RunSummary } from '../../observe/index.ts';

/** A fresh temporary directory for one test file. */
export function temporaryDirectory(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `posttrain-${prefix}-`));
}

/**
 * The record a simulated PPO run logs at `step`: gold reward climbing from 0.3 towards 0.65 with noise, KL growing,
 * losses and entropy falling, throughput around the peer's 574 tokens/s, and a phase-time breakdown.
 */
export function simulatedPpoRecord(step: number, rng: Rng): MetricsRecord {
  const progress = 1 - Math.exp(-step / 25);
  const noise = (scale: number): number => scale * rng.normal();
  return {
    step,
    goldReward: 0.3 + 0.35 * progress + noise(0.02),
    modelReward: 0.1 + 1.2 * progress + noise(0.05),
    kl: 0.002 + 0.04 * progress + Math.abs(noise(0.002)),
    policyLoss: -0.02 * (1 - progress) + noise(0.01),
    valueLoss: 0.4 * (1 - progress) + 0.05 + Math.abs(noise(0.01)),
    clipFraction: 0.05 + 0.1 * progress + Math.abs(noise(0.01)),
    entropy: 2.2 - 0.6 * progress + noise(0.02),
    generatedTokensPerSecond: 560 + noise(15),
    phaseSeconds: { generate: 1.1 + Math.abs(noise(0.05)), score: 0.3, advantages: 0.02, train: 0.8 + Math.abs(noise(0.04)) },
    weightVersion: step,
  };
}

/** Write a complete PPO run directory with `steps` steps (a checkpoint at step 50 when reached) and a summary. */
export function writePpoRun(dir: string, options: { steps: number; seed?: number; finished?: boolean; startTime?: number }): string {
  const rng = new Rng(options.seed ?? 1);
  let clock = options.startTime ?? 1_700_000_000;
  const writer = MetricsWriter.open(dir, { now: () => clock });
  writer.writeConfig({ method: 'ppo', algo: { clipRange: 0.2, klCoefficient: 0.05 }, trainer: { steps: options.steps } });
  const records: MetricsRecord[] = [];
  for (let step = 1; step <= options.steps; step++) {
    clock += 2.5;
    const record = simulatedPpoRecord(step, rng);
    if (step === 50) record.checkpoint = { step: 50, uri: `file://${dir}/checkpoints/step-000050/` };
    writer.append(record);
    records.push(record);
  }
  if (options.finished !== false) {
    const summary: RunSummary = {
      method: 'ppo',
      baselineGoldReward: 0.3,
      finalGoldReward: records.at(-1)?.goldReward,
      meanKl: records.reduce((sum, record) => sum + (record.kl ?? 0), 0) / records.length,
      steps: options.steps,
      wallSeconds: 2.5 * options.steps,
      generatedTokensPerSecond: 560,
      backend: 'wasm',
    };
    writer.writeSummary(summary);
  }
  writer.close();
  return dir;
}

/** A run directory that only holds a summary, as a frontier bench point. */
export function writeFrontierRun(dir: string, summary: RunSummary): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
  return dir;
}

const OPTUNA_SCRIPT = fileURLToPath(new URL('./optuna-study.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Why a real Optuna cannot be used here, or undefined when it can. */
export function optunaMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import optuna'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not found (${probe.error.message})`;
  return probe.status === 0 ? undefined : `${PYTHON} cannot import optuna: install Debian's python3-optuna`;
}

/** Write a real Optuna study (see optuna-study.py) and return the best trial's number and value as Optuna sees them. */
export function writeOptunaStudy(dbPath: string, studyName = 'ppo-sweep'): { bestNumber: number; bestValue: number } {
  const output = execFileSync(PYTHON, [OPTUNA_SCRIPT, dbPath, studyName], { encoding: 'utf8' }).trim().split(/\s+/);
  return { bestNumber: Number(output[0]), bestValue: Number(output[1]) };
}

/**
 * In CI a missing dependency must fail the suite, never skip it; on a developer machine the tests that need it are
 * skipped with the reason. Returns true when the tests should be skipped.
 */
export function skipWithout(missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`required by the tests in CI: ${missing}`);
  console.warn(`skipping: ${missing}`);
  return true;
}
