/**
 * From a sweep file and its base recipe to what the launcher runs: the shared earlier stages (run once for every
 * trial), and each trial's final-stage config with its sampled values, resources and run directory. Everything a
 * user can get wrong here is found before anything runs, and reported with the sweep file's paths.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../runtime/errors.ts';
import { roleNamesOf } from '../trainers/methods.ts';
import { type PlannedStage, planRecipe, type RecipePlan, type StageName } from '../trainers/recipe.ts';
import type { ParamValue } from './distributions.ts';
import { gridValues, type SearchParam } from './search-space.ts';
import type { SweepConfig } from './sweep-config.ts';

type Issue = { path: string; message: string };

/** What the launcher runs, prepared by `planSweep`. */
export interface SweepPlan {
  readonly name: string;
  /** `<runs>/<sweep name>/`: the shared stages, one `trial-<n>/` per trial and the sweep's summary.json. */
  readonly directory: string;
  /** The base recipe (with the sweep's overrides) planned under the sweep's name. */
  readonly recipe: RecipePlan;
  /** The earlier stages every trial shares (SFT, reward model); may be empty. */
  readonly sharedStages: PlannedStage[];
  /** The stage each trial runs with its own values (the recipe's last). */
  readonly stage: StageName;
  /** The tuned stage as the base recipe configures it (defaults filled). */
  readonly baseStageConfig: Record<string, unknown>;
  /** Tensor threads of each trial worker. */
  readonly trialThreads: number;
  /** A trial's run directory. */
  trialDirectory(trialNumber: number): string;
  /**
   * The tuned stage's trainer input for one trial: the base recipe with the trial's values at their paths,
   * re-planned (so the schema checks them), then the sweep's trial resources, threads and name.
   */
  trialInput(params: Readonly<Record<string, ParamValue>>, trialNumber: number): Record<string, unknown>;
}

/**
 * Plans a sweep: applies the overrides to the base recipe, names it after the sweep, and checks that every
 * search-space path is a field of the tuned stage and that every end of every range (and every choice) gives a
 * valid config. Throws one ConfigError listing every problem (`space.stages.ppo.algo.klCoeff: ...`).
 *
 * @example
 * const plan = planSweep(config, (await import('./recipes/ppo.ts')).default);
 * plan.sharedStages.map((stage) => stage.stage); // ['sft', 'reward']
 * plan.trialInput({ 'stages.ppo.algo.klCoef': 0.1 }, 3); // the PPO trainer input of trial 3
 */
export function planSweep(config: SweepConfig, baseRecipe: unknown, options: { runsDirectory?: string } = {}): SweepPlan {
  if (typeof baseRecipe !== 'object' || baseRecipe === null || Array.isArray(baseRecipe)) {
    throw new ConfigError([{ path: 'baseRecipe', message: `${config.baseRecipe} must default-export a recipe object` }]);
  }
  const recipe = withOverrides(baseRecipe as Record<string, unknown>, config, options.runsDirectory);
  const plan = planRecipe(recipe);
  const final = plan.stages.at(-1)!;
  const problems = checkSpace(config, recipe, final.stage);
  const evalEvery = (final.config.trainer as { evalEvery?: number } | undefined)?.evalEvery;
  if (/^eval[A-Z]/.test(config.metric) && evalEvery === 0) {
    problems.push({ path: 'metric', message: `${config.metric} is only logged on evaluation steps, and stages.${final.stage}.trainer.evalEvery is 0; set it (e.g. to reportInterval) or tune a per-step metric` });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const trialThreads = config.trial.threads ?? Math.max(1, Math.floor(availableParallelism() / config.concurrency));
  return {
    name: config.name,
    directory: plan.directory,
    recipe: plan,
    sharedStages: plan.stages.slice(0, -1),
    stage: final.stage,
    baseStageConfig: final.config,
    trialThreads,
    trialDirectory: (trialNumber) => join(plan.directory, `trial-${trialNumber}`),
    trialInput(params, trialNumber) {
      const withParams = structuredClone(recipe);
      for (const [path, value] of Object.entries(params)) setAtPath(withParams, path, value);
      const stage = planRecipe(withParams).stages.at(-1)!;
      const input = structuredClone(stage.input);
      const runtime = { ...(input.runtime as Record<string, unknown>) };
      runtime.threads = trialThreads;
      if (config.trial.resources) {
        const roles = { ...((runtime.roles as Record<string, Record<string, unknown>> | undefined) ?? {}) };
        // Every role of the tuned stage's trainer (a method rejects roles it does not have).
        for (const role of roleNamesOf(final.stage)) roles[role] = { ...roles[role], resources: { ...config.trial.resources } };
        runtime.roles = roles;
      }
      return {
        ...input,
        name: `${config.name}-trial-${trialNumber}`,
        runtime,
        // The sweep draws one progress view for all trials.
        logging: { ...(input.logging as Record<string, unknown>), progress: false },
      };
    },
  };
}

/** The base recipe with the sweep's overrides, renamed after the sweep (so its stages land in runs/<sweep>/). */
function withOverrides(baseRecipe: Record<string, unknown>, config: SweepConfig, runsDirectory: string | undefined): Record<string, unknown> {
  const recipe = structuredClone(baseRecipe);
  const problems: Issue[] = [];
  for (const [path, value] of Object.entries(config.overrides)) {
    const problem = setAtPath(recipe, path, value);
    if (problem) problems.push({ path: `overrides.${path}`, message: problem });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  recipe.name = config.name;
  if (runsDirectory !== undefined) recipe.logging = { ...(recipe.logging as Record<string, unknown> | undefined), runsDirectory };
  return recipe;
}

/** Every problem of the search space against the recipe: paths outside the tuned stage, unknown fields, invalid ends. */
function checkSpace(config: SweepConfig, recipe: Record<string, unknown>, stage: StageName): Issue[] {
  const prefix = `stages.${stage}.`;
  const problems: Issue[] = [];
  for (const [name, param] of Object.entries(config.space)) {
    const path = `space.${name}`;
    if (!name.startsWith(prefix)) {
      problems.push({
        path,
        message: `search-space names are paths into the tuned stage of the base recipe (its last stage, ${stage}), e.g. ${prefix}trainer.learningRate; the earlier stages run once for all trials`,
      });
      continue;
    }
    for (const value of candidateValues(param)) {
      const probe = structuredClone(recipe);
      const blocked = setAtPath(probe, name, value);
      if (blocked) {
        problems.push({ path, message: blocked });
        break;
      }
      const issues = planIssues(probe);
      if (issues.length === 0) continue;
      const unknown = issues.find((issue) => /unknown key|Unrecognized key/.test(issue.message) && name.startsWith(`${issue.path}.`));
      problems.push({
        path,
        message: unknown
          ? `the base recipe's ${stage} stage has no field ${name.slice(prefix.length)} (${unknown.path}: ${unknown.message})`
          : `${JSON.stringify(value)} is not a valid value here: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      });
      break;
    }
  }
  return problems;
}

function planIssues(recipe: unknown): Issue[] {
  try {
    planRecipe(recipe);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
}

/** The values that bound a parameter: both ends of a range (its last grid point when stepped), or every choice. */
function candidateValues(param: SearchParam): ParamValue[] {
  if (param.type === 'categorical') return param.choices;
  const grid = param.type === 'int' || param.step !== undefined ? gridValues(param) : undefined;
  return [param.low, grid ? grid.at(-1)! : param.high];
}

/**
 * Writes `value` at a dotted path, creating missing sections; returns why it cannot (a non-section on the way).
 * Missing sections are fine: a field the recipe leaves at its default is still a field the schema accepts.
 */
export function setAtPath(target: Record<string, unknown>, path: string, value: unknown): string | undefined {
  const keys = path.split('.');
  let node = target;
  for (const [depth, key] of keys.slice(0, -1).entries()) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      return `${keys.slice(0, depth + 1).join('.')} is ${JSON.stringify(next)} in the base recipe, not a section`;
    }
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
  return undefined;
}
