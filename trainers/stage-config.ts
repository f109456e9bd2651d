/**
 * How a method's config schema is put together, written once: the sections every stage has (config-sections.ts)
 * around the method's own, in the order config.json shows them, and the shell of its checks (derive the model and
 * sequence shapes, size the roles, require an eval split for data files, write the shapes and sizes into the parsed
 * config). A `<method>-config.ts` supplies its sections
 * and its own cross-field rules, as `runStage` lets a trainer supply only its roles and loop.
 *
 * @example
 * export const sftConfigSchema = stageConfigSchema('sft', {
 *   roles: SFT_ROLES, init: { from: modelFileSchema.optional() }, own: { trainer: sftTrainerSection.prefault({}) },
 *   heldOut: 'SFT measures a held-out loss',
 * });
 */
import { z } from 'zod';
import { DataConfigSchema } from '../data/datasets/data-config.ts';
import {
  checkpointSection,
  deriveShapes,
  loggingSection,
  modelSection,
  requireEvalSplit,
  runtimeSection,
  taskSection,
  type DerivedShapes,
  type ModelConfig,
  type RuntimeConfig,
  type TaskConfigSection,
} from './config-sections.ts';
import { resolveRoleSizes, type ResolvedRoles, type RoleSizing } from './role-sizes.ts';

/** A method's sections and rules. */
export interface StageConfigParts<Init extends InitShape, Own extends z.ZodRawShape, Shapes extends DerivedShapes, Inputs extends z.ZodRawShape> {
  /** The roles its trainer launches, and how many ranks each may run. */
  roles: readonly RoleSizing[];
  /** Sections after `data`: the user's `rewards` (DPO: also the `rollout` limits of its evaluation samples). */
  inputs?: Inputs;
  /** Where each role's first weights come from (model files of earlier stages); every entry is optional. */
  init: Init;
  /** The method's own sections, after `runtime`: `rollout`, `algo`, `trainer`. */
  own: Own;
  /** The stage's model is a scorer: `model.from` may also be a *ForSequenceClassification (the reward stage). */
  scorer?: boolean;
  /**
   * What the stage measures on held-out data, e.g. 'SFT measures a held-out loss': files given as `data` then need
   * an eval split, and the message starts with this.
   */
  heldOut: string;
  /**
   * The method's cross-field rules, added to `context` with the values that disagree; returns the derived shapes
   * (with the method's own sizes added), or undefined when they cannot be computed. Without it, the shared shapes.
   */
  check?: (config: z.output<StageSections<Inputs, Init, Own>>, context: z.RefinementCtx, resolved: { roles: ResolvedRoles; derived: DerivedShapes | undefined }) => Shapes | undefined;
}

type InitShape = Record<string, z.ZodOptional<z.ZodString>>;
type StageSections<Inputs extends z.ZodRawShape, Init extends InitShape, Own extends z.ZodRawShape> = ReturnType<typeof stageSections<Inputs, Init, Own>>;

/** A method's config schema: its sections with the shared ones, its rules after the shared checks. */
export function stageConfigSchema<Init extends InitShape, Own extends z.ZodRawShape, Shapes extends DerivedShapes, Inputs extends z.ZodRawShape = {}>(
  method: string,
  parts: StageConfigParts<Init, Own, Shapes, Inputs>,
) {
  // SFT and the reward model have no inputs besides `data`: Inputs is then its default, {}.
  return stageSections(method, { ...parts, inputs: parts.inputs ?? ({} as Inputs) }).transform((config, context) => {
    // The shared sections as they parse; zod cannot resolve their types through the method's generic sections.
    const shared = config as unknown as { task: TaskConfigSection; model: ModelConfig; runtime: RuntimeConfig };
    const derived = deriveShapes(shared, context, { scorer: parts.scorer === true });
    const roles = resolveRoleSizes(method, parts.roles, shared.runtime, context);
    requireEvalSplit(context, (config as unknown as { data?: { eval?: string; evalFraction: number } }).data, parts.heldOut);
    const shapes = parts.check ? parts.check(config, context, { roles, derived }) : (derived as Shapes | undefined);
    return shapes ? { ...config, runtime: { ...shared.runtime, roles }, derived: shapes } : (z.NEVER as never);
  });
}

/** `name, seed, task, data, ...inputs, model, init, runtime, ...own, checkpoint, logging`; unknown keys are rejected. */
function stageSections<Inputs extends z.ZodRawShape, Init extends InitShape, Own extends z.ZodRawShape>(method: string, parts: { inputs: Inputs; init: Init; own: Own }) {
  // Every init entry is an optional model file, so {} is a valid init; zod cannot see that through the generic.
  const noInit = {} as z.input<z.ZodObject<Init, z.core.$strict>>;
  return z.strictObject({
    /** Run name: the run directory is `<logging.runsDirectory>/<name>` (default: the method's name). */
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default(method),
    /** Seed of the stage's data stream (seed s reads from index s * 10^7 on), minibatch order and sampling. */
    seed: z.int().min(0).default(0),
    task: taskSection,
    /**
     * Your dataset files instead of the task's data, in the format the method reads: SFT demonstrations
     * (prompt-completion or language modelling), preference pairs for the reward model and DPO, prompts for PPO and
     * GRPO (which then need `rewards` to score them).
     */
    data: DataConfigSchema.optional(),
    ...parts.inputs,
    model: modelSection.prefault({}),
    init: z.strictObject(parts.init).prefault(noInit),
    runtime: runtimeSection.prefault({}),
    ...parts.own,
    checkpoint: checkpointSection.prefault({}),
    logging: loggingSection.prefault({}),
  });
}
