/**
 * `recipe resume <run directory>`: continue a run that stopped (killed, preempted, SIGTERM) from its checkpoints.
 *
 * - A pipeline directory (`runs/<name>/`, with the `recipe.json` that `runRecipe` keeps): the recipe is planned
 *   again and run; finished stages are reused, the unfinished one resumes from its newest verified checkpoint,
 *   and the stages after it run.
 * - One trainer's run directory (`config.json`, as every trainer writes): its trainer is built from that config
 *   and trains on from the newest verified checkpoint.
 *
 * Either way `checkpoint.resume` is forced to `auto`; a stage without a checkpoint starts from its beginning.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, PosttrainError } from '../runtime/errors.ts';
import type { Runtime } from '../runtime/index.ts';
import type { RunSummary } from '../observe/index.ts';
import { DPOTrainer } from './dpo-trainer.ts';
import { parseDpoConfig } from './dpo-config.ts';
import { GRPOTrainer } from './grpo-trainer.ts';
import { parseGrpoConfig } from './grpo-config.ts';
import { PPOTrainer } from './ppo-trainer.ts';
import { parsePpoConfig } from './ppo-config.ts';
import { planRecipe, runRecipe } from './recipe.ts';
import { RewardTrainer } from './reward-trainer.ts';
import { parseRewardConfig } from './reward-config.ts';
import type { TrainerOptions } from './run-session.ts';
import { SFTTrainer } from './sft-trainer.ts';
import { parseSftConfig } from './sft-config.ts';

/** Every method, with the parser that recognises its resolved config (the schemas are strict, so only one does). */
const METHODS = {
  sft: { parse: parseSftConfig, Trainer: SFTTrainer },
  reward: { parse: parseRewardConfig, Trainer: RewardTrainer },
  ppo: { parse: parsePpoConfig, Trainer: PPOTrainer },
  dpo: { parse: parseDpoConfig, Trainer: DPOTrainer },
  grpo: { parse: parseGrpoConfig, Trainer: GRPOTrainer },
} as const;

/**
 * @example
 * const summary = await resumeRun('runs/ppo');        // a pipeline: reuses sft and reward, resumes ppo
 * await resumeRun('runs/ppo/ppo');                    // one stage's run directory
 */
export async function resumeRun(runDirectory: string, options: { runtime?: Runtime; logLevel?: string } = {}): Promise<RunSummary> {
  const directory = resolve(runDirectory);
  const logging = (section: unknown) => ({ ...(section as object), ...(options.logLevel ? { level: options.logLevel } : {}) });
  if (existsSync(join(directory, 'recipe.json'))) {
    const recipe = readJson(join(directory, 'recipe.json')) as Record<string, unknown>;
    const autoResume = (section: unknown) => ({ ...(section as object), resume: 'auto' });
    const stages = Object.fromEntries(
      Object.entries((recipe.stages ?? {}) as Record<string, Record<string, unknown>>).map(([stage, own]) => [stage, own.checkpoint ? { ...own, checkpoint: autoResume(own.checkpoint) } : own]),
    );
    const plan = planRecipe({
      ...recipe,
      name: basename(directory),
      logging: { ...logging(recipe.logging), runsDirectory: dirname(directory) },
      checkpoint: autoResume(recipe.checkpoint),
      stages,
    });
    return runRecipe(plan, options.runtime ? { runtime: options.runtime } : {});
  }
  if (existsSync(join(directory, 'config.json'))) {
    const { derived: _derived, ...config } = readJson(join(directory, 'config.json')) as Record<string, unknown>;
    const method = methodOf(config, directory);
    const trainerOptions: TrainerOptions = { runDirectory: directory, ...(options.runtime ? { runtime: options.runtime } : {}) };
    const { Trainer } = METHODS[method];
    return new Trainer({ ...config, logging: logging(config.logging), checkpoint: { ...(config.checkpoint as object), resume: 'auto' } } as never, trainerOptions).train();
  }
  throw new ConfigError([{ path: 'run', message: `${directory} is not a run directory: it has neither recipe.json (a pipeline) nor config.json (one trainer's run)` }]);
}

/** The method whose config schema accepts `config`. */
function methodOf(config: Record<string, unknown>, directory: string): keyof typeof METHODS {
  const matches = (Object.keys(METHODS) as (keyof typeof METHODS)[]).filter((method) => {
    try {
      METHODS[method].parse(config);
      return true;
    } catch {
      return false;
    }
  });
  if (matches.length !== 1) {
    throw new PosttrainError('RUN_UNRECOGNISED', `${join(directory, 'config.json')} is not the config of exactly one trainer (it parses as: ${matches.join(', ') || 'none'})`, {
      path: join(directory, 'config.json'),
    });
  }
  return matches[0]!;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError([{ path: 'run', message: `${path} could not be read: ${(error as Error).message}` }]);
  }
}
