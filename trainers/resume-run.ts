/**
 * `recipe resume <run directory>`: continue a run that stopped (killed, preempted, SIGTERM) from its checkpoints.
 *
 * - A pipeline directory (`runs/<name>/`, with the `recipe.json` that `runRecipe` keeps): the recipe is planned
 *   again and run; finished stages are reused, the unfinished one resumes from its newest verified checkpoint,
 *   and the stages after it run.
 * - One trainer's run directory (`config.json`, as every trainer writes): its trainer (the `method` config.json
 *   names; for runs written before config.json named it, session.json's) is built from that config and trains on
 *   from the newest verified checkpoint.
 *
 * Either way `checkpoint.resume` is forced to `auto`; a stage without a checkpoint starts from its beginning.
 * `address` moves the run to another cluster head (a new Slurm allocation has a new one); where roles run does
 * not change what they compute, and `runtime` is not part of a stage's config hash, so finished stages are reused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, PosttrainError } from '../runtime/errors.ts';
import type { Runtime } from '../runtime/index.ts';
import type { RunSummary } from '../observe/index.ts';
import { isStageName, METHODS, STAGES, type StageName } from './methods.ts';
import { planRecipe, runRecipe } from './recipe.ts';
import type { TrainerOptions } from './run-session.ts';

/**
 * @example
 * const summary = await resumeRun('runs/ppo');        // a pipeline: reuses sft and reward, resumes ppo
 * await resumeRun('runs/ppo/ppo');                    // one stage's run directory
 */
export async function resumeRun(runDirectory: string, options: { runtime?: Runtime; logLevel?: string; address?: string } = {}): Promise<RunSummary> {
  const directory = resolve(runDirectory);
  const logging = (section: unknown) => ({ ...(section as object), ...(options.logLevel ? { level: options.logLevel } : {}) });
  const runtime = (section: unknown) => (options.address ? { ...(section as object), address: options.address } : section);
  if (existsSync(join(directory, 'recipe.json'))) {
    const recipe = readJson(join(directory, 'recipe.json')) as Record<string, unknown>;
    const autoResume = (section: unknown) => ({ ...(section as object), resume: 'auto' });
    const stages = Object.fromEntries(
      Object.entries((recipe.stages ?? {}) as Record<string, Record<string, unknown>>).map(([stage, own]) => [stage, own.checkpoint ? { ...own, checkpoint: autoResume(own.checkpoint) } : own]),
    );
    const plan = planRecipe({
      ...recipe,
      name: basename(directory),
      runtime: runtime(recipe.runtime),
      logging: { ...logging(recipe.logging), runsDirectory: dirname(directory) },
      checkpoint: autoResume(recipe.checkpoint),
      stages,
    });
    return runRecipe(plan, options.runtime ? { runtime: options.runtime } : {});
  }
  if (existsSync(join(directory, 'config.json'))) {
    const { derived: _derived, method: written, ...config } = readJson(join(directory, 'config.json')) as Record<string, unknown>;
    const method = methodOf(written, directory);
    const trainerOptions: TrainerOptions = { runDirectory: directory, ...(options.runtime ? { runtime: options.runtime } : {}) };
    const { Trainer } = METHODS[method];
    return new Trainer({ ...config, runtime: runtime(config.runtime), logging: logging(config.logging), checkpoint: { ...(config.checkpoint as object), resume: 'auto' } } as never, trainerOptions).train();
  }
  throw new ConfigError([{ path: 'run', message: `${directory} is not a run directory: it has neither recipe.json (a pipeline) nor config.json (one trainer's run)` }]);
}

/** The run's method: as config.json names it, else (a run written before it did) as session.json does. */
function methodOf(written: unknown, directory: string): StageName {
  const sessionPath = join(directory, 'session.json');
  const method = written ?? (existsSync(sessionPath) ? (readJson(sessionPath) as { method?: unknown }).method : undefined);
  if (!isStageName(method)) {
    throw new PosttrainError(
      'RUN_UNRECOGNISED',
      `${join(directory, 'config.json')} names no method a trainer runs (method: ${JSON.stringify(method) ?? 'absent'}, neither there nor in session.json); expected one of ${STAGES.join(', ')}`,
      { path: join(directory, 'config.json') },
    );
  }
  return method;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError([{ path: 'run', message: `${path} could not be read: ${(error as Error).message}` }]);
  }
}
