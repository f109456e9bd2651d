/**
 * A recipe is a pipeline of stages sharing one task and one model shape: SFT -> reward model -> PPO, or
 * SFT -> DPO, or SFT -> GRPO. Each stage is the method's own config (its `trainer`, `algo`, `rollout` sections);
 * the shared sections (`task`, `model`, `runtime`, `checkpoint`, `logging`) are written once. Each stage starts
 * from the models earlier stages wrote, and a stage whose model already exists for the same config is reused.
 *
 * Runs land in `<logging.runsDirectory>/<name>/<stage>/`, with the pipeline's `summary.json` beside them.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { stageModelExists, stageModelRecord, stageModelWrittenAt } from './stage-output.ts';
import { configIssues } from '../models/config-parse.ts';
import { ConfigError } from '../runtime/errors.ts';
import { rootLogger, type Runtime } from '../runtime/index.ts';
import type { RunSummary } from '../observe/index.ts';
import { checkpointSection, loggingSection, modelSection, runtimeSection, taskSection } from './config-sections.ts';
import { configHash } from './config-hash.ts';
import { METHODS, roleNamesOf, STAGES, USER_SECTIONS, type StageName } from './methods.ts';
import { writeFreshModels } from './fresh-model.ts';
import { DataConfigSchema } from '../data/datasets/data-config.ts';
import { RewardsConfigSchema } from '../rollout/reward-functions.ts';

export { STAGES, type StageName } from './methods.ts';

/** Keys a stage may set; the rest are the recipe's shared sections. */
const STAGE_KEYS = ['seed', 'init', 'rollout', 'algo', 'trainer', 'runtime', 'checkpoint', ...USER_SECTIONS] as const;

/** One stage: the method's own sections (validated by the method's schema once merged). */
const stageSection = z.record(z.string(), z.unknown()).describe('the method config sections: trainer, algo, rollout, init, seed, runtime, checkpoint');

const recipeShape = z.strictObject({
  /** Run name: `<logging.runsDirectory>/<name>/`. */
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  /** Seed every stage inherits unless it sets its own. */
  seed: z.int().min(0).default(0),
  task: taskSection,
  /** Your dataset files (paths relative to the recipe file) for the stages that read them; a stage may set its own. */
  data: DataConfigSchema.optional(),
  /** Your reward functions (modules relative to the recipe file) for the stages that read them; a stage may set its own. */
  rewards: RewardsConfigSchema.optional(),
  model: modelSection.prefault({}),
  runtime: runtimeSection.prefault({}),
  checkpoint: checkpointSection.prefault({}),
  logging: loggingSection.prefault({}),
  stages: z.strictObject(Object.fromEntries(STAGES.map((stage) => [stage, stageSection.optional()])) as Record<StageName, z.ZodOptional<typeof stageSection>>),
});

export type RecipeInput = z.input<typeof recipeShape>;

/** The top-level sections of a recipe (`name`, `seed`, `task`, ..., `stages`). */
export const RECIPE_SECTIONS = Object.keys(recipeShape.shape) as (keyof RecipeInput)[];

/** A planned stage: its method config (validated) and where its model goes. */
export interface PlannedStage {
  stage: StageName;
  directory: string;
  /** `<directory>/model`: the model file the stage writes. */
  model: string;
  /** The stage's method config as validated (defaults filled, derived sizes computed). */
  config: Record<string, unknown>;
  /** The method config input the trainer is built from. */
  input: Record<string, unknown>;
  hash: string;
}

export interface RecipePlan {
  name: string;
  directory: string;
  stages: PlannedStage[];
  /** The recipe as given (overrides applied): `runRecipe` keeps it as `<run>/recipe.json` for `recipe resume`. */
  recipe: unknown;
  /** `model.init` folders this plan wrote (validation reads their config.json, so they are written first). */
  freshModels: string[];
}

/** Identity, for type-checking recipe files: `export default defineRecipe({ ... })`. */
export function defineRecipe(recipe: RecipeInput): RecipeInput {
  return recipe;
}

/**
 * Validates a recipe and plans its stages: every problem of every stage is reported at once, with paths as the
 * user wrote them (`stages.ppo.algo.clipRange`, `task.name`). A `model` section with `init` whose folder holds no
 * model gets it written first (trainers/fresh-model.ts), whoever plans: `recipe run`, `recipe resume`, `recipe
 * sweep` or a program.
 */
export function planRecipe(input: unknown): RecipePlan {
  const freshModels = writeFreshModels(input);
  const parsed = recipeShape.safeParse(input);
  const issues: { path: string; message: string }[] = parsed.success ? [] : configIssues(recipeShape, parsed.error);
  // Even when the shared sections are wrong, check the stages too, so every problem is reported at once.
  const recipe = parsed.success ? parsed.data : fallbackRecipe(input);
  if (!recipe) throw new ConfigError(issues);
  const directory = resolve(recipe.logging.runsDirectory, recipe.name);
  const stages: PlannedStage[] = [];
  const present = STAGES.filter((stage) => recipe.stages[stage] !== undefined);
  if (present.length === 0 && parsed.success) issues.push({ path: 'stages', message: `name at least one stage: ${STAGES.join(', ')}` });
  const modelOf = (stage: StageName) => (present.includes(stage) ? join(directory, stage, 'model') : undefined);
  // The shared runtime.roles may name any role of the recipe's stages; each stage gets the entries of its own roles.
  const recipeRoles = [...new Set(present.flatMap(roleNamesOf))];
  for (const name of Object.keys(recipe.runtime.roles)) {
    if (present.length > 0 && !recipeRoles.includes(name)) {
      issues.push({ path: `runtime.roles.${name}`, message: `unknown role "${name}": this recipe's stages (${present.join(', ')}) have the roles ${recipeRoles.join(', ')}` });
    }
  }

  const readers = (section: string) => STAGES.filter((stage) => (METHODS[stage].reads as readonly string[]).includes(section));
  for (const section of USER_SECTIONS) {
    if (recipe[section] !== undefined && present.length > 0 && !present.some((stage) => readers(section).includes(stage))) {
      issues.push({ path: section, message: `no stage of this recipe (${present.join(', ')}) reads ${section}; the stages that do: ${readers(section).join(', ')}` });
    }
  }

  for (const stage of present) {
    const own = recipe.stages[stage]!;
    const unread = USER_SECTIONS.filter((section) => own[section] !== undefined && !readers(section).includes(stage));
    for (const section of unread) issues.push({ path: `stages.${stage}.${section}`, message: `the ${stage} stage does not read ${section} yet; the stages that do: ${readers(section).join(', ')}` });
    if (unread.length > 0) continue;
    // A stage may set its own LoRA settings (`stages.<stage>.model.lora`, e.g. searched by a sweep); the rest of
    // the model is shared.
    const ownLora = isLoraOnly(own.model);
    const misplaced = Object.keys(own).filter((key) => !(STAGE_KEYS as readonly string[]).includes(key) && !(key === 'model' && ownLora));
    for (const key of misplaced) {
      const shared = ['task', 'model', 'logging', 'name'].includes(key);
      issues.push({
        path: `stages.${stage}.${key}`,
        message: shared ? `${key} is shared by every stage: set it at the top of the recipe` : `unknown key "${key}"; a stage may set ${STAGE_KEYS.join(', ')}`,
      });
    }
    if (misplaced.length > 0) continue;
    const earlier = Object.fromEntries(present.map((name) => [name, modelOf(name)]));
    const defaults = Object.fromEntries(Object.entries(METHODS[stage].init(earlier)).filter(([, path]) => path !== undefined));
    const init = { ...defaults, ...((own.init as Record<string, unknown> | undefined) ?? {}) };
    const input = {
      name: `${recipe.name}-${stage}`,
      seed: recipe.seed,
      task: recipe.task,
      model: recipe.model,
      runtime: { ...recipe.runtime, roles: Object.fromEntries(Object.entries(recipe.runtime.roles).filter(([name]) => roleNamesOf(stage).includes(name))) },
      checkpoint: recipe.checkpoint,
      logging: recipe.logging,
      // The recipe's data and rewards reach the stages that read them; a stage's own replace them.
      ...Object.fromEntries(USER_SECTIONS.filter((section) => recipe[section] !== undefined && readers(section).includes(stage)).map((section) => [section, recipe[section]])),
      ...own,
      ...(ownLora ? { model: { ...(recipe.model as Record<string, unknown> | undefined), ...(own.model as Record<string, unknown>) } } : {}),
      ...(Object.keys(init).length > 0 ? { init } : {}),
    };
    try {
      const config = METHODS[stage].parse(input);
      stages.push({ stage, directory: join(directory, stage), model: join(directory, stage, 'model'), config, input, hash: configHash(config) });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) issues.push({ path: stagePath(stage, issue.path, own), message: issue.message });
    }
  }
  if (issues.length > 0) throw new ConfigError(dedupe(issues));
  return { name: recipe.name, directory, stages, recipe: input, freshModels };
}

/**
 * Runs a planned recipe stage by stage; a stage whose model file exists with the same config hash, newer than the
 * models of the stages before it, is reused.
 * Returns the pipeline summary (also written to `<run>/summary.json`).
 */
export async function runRecipe(
  plan: RecipePlan,
  options: { runtime?: Runtime; onStep?: (stage: StageName, record: Record<string, unknown>) => void; force?: boolean } = {},
): Promise<RunSummary> {
  const logger = rootLogger().child({ run: plan.name });
  mkdirSync(plan.directory, { recursive: true });
  writeFileSync(join(plan.directory, 'recipe.json'), `${JSON.stringify(plan.recipe, null, 2)}\n`);
  const summaries: Partial<Record<StageName, RunSummary>> = {};
  for (const [index, stage] of plan.stages.entries()) {
    const state = stageState(stage, plan.stages.slice(0, index));
    if (!options.force && state === 'done') {
      logger.info({ stage: stage.stage, model: stage.model }, 'reusing the stage output: its model exists for this exact config');
      summaries[stage.stage] = { reused: true, model: stage.model };
      continue;
    }
    if (!options.force && state !== 'unfinished') {
      logger.warn(
        { stage: stage.stage },
        state === 'other-config'
          ? `stage ${stage.stage} finished with another config before: training it again from the start`
          : `stage ${stage.stage} was trained from older models of the stages before it: training it again from the start`,
      );
    }
    // An unfinished stage resumes from its newest checkpoint (checkpoint.resume 'auto'); --force, a changed
    // config and retrained earlier stages start it over (its old checkpoints belong to another run).
    const startOver = options.force || state === 'other-config' || state === 'stale';
    const input = startOver ? { ...stage.input, checkpoint: { ...(stage.input.checkpoint as object), resume: 'never' } } : stage.input;
    const trainer = new METHODS[stage.stage].Trainer(input as never, { runDirectory: stage.directory, ...(options.runtime ? { runtime: options.runtime } : {}) });
    if (options.onStep) trainer.on('step', (record) => options.onStep!(stage.stage, record));
    const stageSummary = (summaries[stage.stage] = await trainer.train());
    if (stageSummary.stoppedBy !== undefined) {
      // Later stages would start from an unfinished model: stop here; `recipe resume` continues this stage.
      logger.warn({ stage: stage.stage, stoppedBy: stageSummary.stoppedBy }, `stage ${stage.stage} stopped early; the pipeline stops here (continue it with recipe resume)`);
      break;
    }
  }
  const last = plan.stages.filter((stage) => summaries[stage.stage] !== undefined).at(-1)!;
  const summary: RunSummary = { ...summaries[last.stage], stages: summaries, recipe: plan.name };
  writeFileSync(join(plan.directory, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/**
 * The raw recipe with each unusable shared section replaced by its defaults, or undefined when stages cannot be
 * read. The section's own problems are already among the recipe's issues; its defaults let the stages be checked
 * too (and the run directory be named) without reading a value that failed validation: `logging.level=shouting`
 * once reached `resolve(logging.runsDirectory)` as the raw section and crashed with a TypeError.
 */
function fallbackRecipe(input: unknown): z.output<typeof recipeShape> | undefined {
  if (!input || typeof input !== 'object') return undefined;
  const raw = input as Record<string, unknown>;
  const stages = raw.stages;
  if (!stages || typeof stages !== 'object' || Array.isArray(stages)) return undefined;
  const section = <T>(schema: z.ZodType<T>, value: unknown): T => {
    const result = schema.safeParse(value ?? {});
    return result.success ? result.data : schema.parse({});
  };
  return {
    name: recipeShape.shape.name.safeParse(raw.name).data ?? 'recipe',
    seed: recipeShape.shape.seed.safeParse(raw.seed).data ?? 0,
    task: raw.task as z.output<typeof taskSection>,
    data: DataConfigSchema.safeParse(raw.data).data,
    rewards: RewardsConfigSchema.safeParse(raw.rewards).data,
    model: section(modelSection, raw.model),
    runtime: section(runtimeSection, raw.runtime),
    checkpoint: section(checkpointSection, raw.checkpoint),
    logging: section(loggingSection, raw.logging),
    stages: Object.fromEntries(STAGES.filter((stage) => stage in stages).map((stage) => [stage, (stages as Record<string, Record<string, unknown>>)[stage]])),
  } as z.output<typeof recipeShape>;
}

/**
 * Where a stage stands: `done` (its model exists for this exact config, newer than every earlier stage's model:
 * reuse it), `unfinished` (never finished, or stopped early: resume), `other-config` (finished with another
 * config) or `stale` (finished, but an earlier stage has been trained again since).
 */
function stageState(stage: PlannedStage, earlier: PlannedStage[]): 'done' | 'unfinished' | 'other-config' | 'stale' {
  const summaryPath = join(stage.directory, 'summary.json');
  if (!stageModelExists(stage.directory) || !existsSync(summaryPath)) return 'unfinished';
  // A stage stopped early (SIGTERM, a spot notice) wrote a model but is not done: it resumes instead.
  if ((JSON.parse(readFileSync(summaryPath, 'utf8')) as RunSummary).stoppedBy !== undefined) return 'unfinished';
  if (stageModelRecord(stage.directory).configHash !== stage.hash) return 'other-config';
  const written = stageModelWrittenAt(stage.directory);
  return earlier.some((before) => stageModelExists(before.directory) && stageModelWrittenAt(before.directory) > written) ? 'stale' : 'done';
}

/** Where a method-config issue lives in the recipe the user wrote. */
function stagePath(stage: StageName, path: string, own: Record<string, unknown>): string {
  const head = path.split('.')[0]!;
  const stageOwned = (STAGE_KEYS as readonly string[]).includes(head) && (head === 'init' || head in own || ['rollout', 'algo', 'trainer'].includes(head));
  return stageOwned || path === '' ? `stages.${stage}${path ? `.${path}` : ''}` : path;
}

function dedupe(issues: { path: string; message: string }[]): { path: string; message: string }[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether a stage's `model` holds only `lora` (the one model setting a stage may change). */
function isLoraOnly(model: unknown): boolean {
  return typeof model === 'object' && model !== null && !Array.isArray(model) && Object.keys(model).length === 1 && 'lora' in model;
}
