import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SESSION_FILE } from '../../observe/index.ts';
import { createStudy, RandomSampler, TrialPruned, MedianPruner } from '../../tune/index.ts';

const REPOSITORY = path.resolve(import.meta.dirname, '../..');
export const RECIPE_COMMAND = path.join(REPOSITORY, 'bin/recipe.js');

/** What a real `recipe run` left behind and showed while it ran. */
export interface RealRun {
  /** The recipe's directory: `<runs>/e2e/{sft,reward,ppo}`. */
  dir: string;
  /** Every line the command wrote to stderr (its JSON log: stderr is not a terminal here). */
  stderr: string[];
  exitCode: number | null;
  /** `/metrics` as scraped from outside while PPO was at step 2 or later, with collective timings present. */
  scrape: string | undefined;
}

/**
 * Runs a tiny recipe (SFT -> reward model -> PPO with two data-parallel policy ranks, a 32-wide one-layer model, a
 * few steps each) through the real `recipe` command, serving Prometheus metrics, and scrapes them from outside
 * while PPO runs. About 20 seconds on two cores.
 */
/**
 * PPO steps of the tiny run. Enough that a scrape lands while PPO runs with the policy ranks' collective timings
 * already served: a rank busy training answers the driver's metrics fetch only between steps (5 steps missed that
 * window once on a loaded machine).
 */
export const PPO_STEPS = 10;

export async function runTinyRecipe(workDir: string): Promise<RealRun> {
  const recipeFile = path.join(workDir, 'e2e-recipe.mjs');
  fs.writeFileSync(
    recipeFile,
    `export default ${JSON.stringify({
      name: 'e2e',
      task: { name: 'sentiment' },
      model: { dModel: 32, nHeads: 2, nLayers: 1 },
      logging: { metricsPort: 0 },
      stages: {
        sft: { trainer: { steps: 6, batchSize: 8, evalEvery: 3, evalExamples: 16, evalPrompts: 4, evalSamplesPerPrompt: 1 } },
        reward: { trainer: { steps: 4, batchSize: 8, evalEvery: 2, evalPairs: 16 } },
        ppo: {
          rollout: { batchSize: 8 },
          algo: { epochs: 1, minibatches: 2 },
          trainer: { steps: PPO_STEPS, evalEvery: 2, evalPrompts: 4, evalSamplesPerPrompt: 1 },
          // Two policy ranks average gradients with an allreduce, so the run has collective timings to serve.
          runtime: { roles: { policy: { groupSize: 2 } } },
        },
      },
    })};\n`,
  );
  const runsDir = path.join(workDir, 'runs');
  const child = spawn(process.execPath, [RECIPE_COMMAND, 'run', recipeFile, '--runs-dir', runsDir], {
    env: { ...process.env, VITEST: '', POSTTRAIN_LOG_LEVEL: 'info', CI: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    stderr.push(...lines);
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  let scrape: string | undefined;
  let running = true;
  void exited.then(() => (running = false));
  const sessionFile = path.join(runsDir, 'e2e', 'ppo', SESSION_FILE);
  while (running && scrape === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (!fs.existsSync(sessionFile)) continue;
    try {
      const { metricsUrl } = JSON.parse(fs.readFileSync(sessionFile, 'utf8')) as { metricsUrl?: string };
      if (!metricsUrl) continue;
      const text = await (await fetch(metricsUrl)).text();
      const step = /^posttrain_training_step\{[^}]*stage="ppo"[^}]*\} (\d+)$/m.exec(text);
      if (step && Number(step[1]) >= 2 && /^posttrain_collective_seconds_count\{/m.test(text)) scrape = text;
    } catch {
      // Between stages the file names a server that has closed; try again.
    }
  }
  const exitCode = await exited;
  if (partial) stderr.push(partial);
  return { dir: path.join(runsDir, 'e2e'), stderr: stderr.filter((line) => line.trim() !== ''), exitCode, scrape };
}

/** Runs the `recipe` command with `args`; resolves with its exit code and output. */
export function recipeCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RECIPE_COMMAND, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A small sweep made with posttrain's own tune/ API into an Optuna-schema database: a simulated PPO learning curve
 * per trial, reported step by step, with a median pruner that stops the trials falling behind. Returns the counts
 * of trials per final state.
 */
export async function writeTunedSweep(dbPath: string, studyName = 'e2e-sweep'): Promise<Record<string, number>> {
  const study = createStudy({
    storage: `sqlite:///${dbPath}`,
    studyName,
    direction: 'maximize',
    sampler: new RandomSampler({ seed: 3 }),
    pruner: new MedianPruner({ nStartupTrials: 3, nWarmupSteps: 2 }),
  });
  await study.optimize(
    (trial) => {
      const learningRate = trial.suggestFloat('learning_rate', 1e-5, 1e-3, { log: true });
      const klCoef = trial.suggestFloat('kl_coef', 0.01, 0.2);
      const epochs = trial.suggestInt('epochs', 1, 4);
      let value = 0;
      for (let step = 1; step <= 10; step++) {
        value = (0.9 - 2 * klCoef) * (1 - Math.exp(-step * learningRate * 1500 * epochs));
        trial.report(value, step);
        if (trial.shouldPrune()) throw new TrialPruned(`pruned at step ${step}`);
      }
      return value;
    },
    { nTrials: 12 },
  );
  const counts: Record<string, number> = {};
  for (const trial of study.trials) counts[trial.state] = (counts[trial.state] ?? 0) + 1;
  return counts;
}
