/**
 * Shared pieces of the durability tests: tiny configs (a PPO step takes tens of milliseconds), starting models
 * written straight from seeded initialisations (no SFT or reward-model stage to train first), trainers in child
 * processes that a test can SIGKILL, and metrics compared without their wall-clock fields.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GPT, type HeadKind } from '../../models/gpt.ts';
import type { GPTConfig } from '../../models/gpt-config.ts';
import { saveModelFile } from '../../models/model-file.ts';
import { gptConfigOf } from '../../models/model-spec.ts';
import type { MetricsRecord, RunSummary } from '../../observe/index.ts';
import { parseStepDirectory, stepDirectory } from '../../runtime/checkpoint/layout.ts';
import type { Runtime } from '../../runtime/index.ts';
import { resumeRun } from '../../trainers/resume-run.ts';
import { parsePpoConfig, type PPOConfigInput } from '../../trainers/ppo-config.ts';

/** A model small enough that 150 PPO steps take seconds. */
export const TINY_MODEL = { dModel: 32, nHeads: 2, nLayers: 1, contextLength: 16 };

/**
 * Deterministic run to run: wasm with one thread in every worker (the same kernels, the same reduction order).
 * Colocated in one worker, the way a 2-core laptop runs.
 */
export const DETERMINISTIC_RUNTIME = { backend: 'wasm', threads: 1 } as const;

/**
 * A two-stage recipe (SFT -> DPO on the sentiment task) small enough to run in seconds, its runs under
 * `<root>/runs/pipeline/`. `dpoCheckpoint` is the DPO stage's checkpoint section, when a test sets one.
 */
export function tinySftDpoRecipe(root: string, options: { seed: number; sftSteps: number; dpoSteps: number; dpoCheckpoint?: { everySteps: number } }) {
  return {
    name: 'pipeline',
    seed: options.seed,
    task: { name: 'sentiment' },
    model: { ...TINY_MODEL, contextLength: 48 },
    runtime: DETERMINISTIC_RUNTIME,
    logging: { runsDirectory: join(root, 'runs'), level: 'error', progress: false },
    stages: {
      sft: { trainer: { steps: options.sftSteps, batchSize: 4, evalExamples: 8, evalPrompts: 0 } },
      dpo: {
        trainer: { steps: options.dpoSteps, batchSize: 4, evalEvery: 0, evalPrompts: 2, evalSamplesPerPrompt: 1 },
        ...(options.dpoCheckpoint ? { checkpoint: options.dpoCheckpoint } : {}),
      },
    },
  };
}

export function temporaryDirectory(name: string): string {
  return mkdtempSync(join(tmpdir(), `posttrain-${name}-`));
}

/** `<root>/init/policy` and `<root>/init/reward`: seeded fresh models a PPO run can start from. */
export function writeStartingModels(root: string): { policy: string; reward: string } {
  const gpt = gptConfigOf(parsePpoConfig(tinyPpoConfig(root)).derived.model);
  return { policy: writeModel(join(root, 'init', 'policy'), gpt, 'language', 1), reward: writeModel(join(root, 'init', 'reward'), gpt, 'reward', 2) };
}

/** A seeded fresh model written as a model file at `path` (without extension); returns `path`. */
export function writeModel(path: string, gpt: GPTConfig, head: HeadKind, seed: number): string {
  const model = new GPT(gpt, { head, seed });
  saveModelFile(join(path, '..'), path.split('/').at(-1)!, { config: model.config, head, weights: model.parameters.data, manifest: model.parameters.manifest, metadata: { stage: 'test' } });
  return path;
}

/**
 * A tiny PPO config: rollout batch 8, one epoch of two minibatches, evaluation only at the ends (4 prompts), a
 * checkpoint every 50 steps; runs go to `<root>/runs/<name>`.
 */
export function tinyPpoConfig(root: string, overrides: Partial<PPOConfigInput> = {}): PPOConfigInput {
  return {
    name: 'ppo',
    seed: 3,
    task: { name: 'arithmetic' },
    model: TINY_MODEL,
    init: { policy: join(root, 'init', 'policy'), reward: join(root, 'init', 'reward') },
    runtime: DETERMINISTIC_RUNTIME,
    rollout: { batchSize: 8 },
    algo: { epochs: 1, minibatches: 2 },
    trainer: { steps: 20, learningRate: 1e-3, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 },
    checkpoint: { everySteps: 50 },
    logging: { runsDirectory: join(root, 'runs'), level: 'error', progress: false },
    ...overrides,
  };
}

const RUN_TRAINER = fileURLToPath(new URL('./fixtures/run-trainer.ts', import.meta.url));

/** A trainer in its own process (`method`, its config); its stdout ends with the summary's JSON line. */
export function spawnTrainer(method: string, config: unknown, options: Record<string, unknown> = {}): ChildProcess & { finished: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), RUN_TRAINER, method, JSON.stringify(config), JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, POSTTRAIN_LOG_LEVEL: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return Object.assign(child, { finished });
}

/** Runs a trainer in a child process to the end; rejects with its stderr when it fails. */
export async function runTrainer(method: string, config: unknown, options: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await spawnTrainer(method, config, options).finished;
  if (code !== 0) throw new Error(`trainer exited with ${code}:\n${stderr.slice(-4000)}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

export function readMetrics(runDirectory: string): MetricsRecord[] {
  const path = join(runDirectory, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as MetricsRecord);
}

/**
 * Fields that measure the machine, not the training: how long phases took, tokens per second, when the line was
 * written, and when a checkpoint happened to land. Everything else must match exactly.
 */
export const WALL_CLOCK_FIELDS = ['phaseSeconds', 'generatedTokensPerSecond', 'wallTime', 'checkpoint'];

export function withoutWallClock(records: MetricsRecord[]): Record<string, unknown>[] {
  return records.map((record) => Object.fromEntries(Object.entries(record).filter(([key]) => !WALL_CLOCK_FIELDS.includes(key))));
}

/** Polls `probe` every 20 ms until it returns true (or `timeoutMs` passes: then rejects). */
export async function waitFor(probe: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Copies the finished run at `original` to `<original>-resumed` as if it had stopped right after checkpoint
 * `step` (later checkpoints removed, `latest` pointing at it) and resumes the copy. An exact resume computes the
 * remaining steps as the original did, so the two runs' metrics match without their wall-clock fields.
 *
 * @example
 * const { copy, summary } = await resumeStoppedCopy(join(root, 'runs', 'dpo-resume'), 2, { runtime });
 * expect(withoutWallClock(readMetrics(copy))).toEqual(withoutWallClock(readMetrics(original)));
 */
export async function resumeStoppedCopy(original: string, step: number, options: { runtime?: Runtime }): Promise<{ copy: string; summary: RunSummary }> {
  const copy = `${original}-resumed`;
  cpSync(original, copy, { recursive: true });
  const checkpoints = join(copy, 'checkpoints', basename(original));
  for (const name of readdirSync(checkpoints)) {
    if ((parseStepDirectory(name) ?? 0) > step) rmSync(join(checkpoints, name), { recursive: true });
  }
  writeFileSync(join(checkpoints, 'latest'), `${stepDirectory(step)}\n`);
  return { copy, summary: await resumeRun(copy, options) };
}
