/**
 * What every trainer is to its users: constructed from a config (validated at once, so a bad config fails before
 * anything starts), `train()` returning the run summary, `step` / `checkpoint` / `done` events, and `abort()`.
 * A trainer names its method and config schema (`methodTrainer`), its roles and its loop; `runStage`
 * (trainers/run-stage.ts) does the rest.
 */
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { parseConfig } from '../models/config-parse.ts';
import { writeFreshModels } from './fresh-model.ts';
import type { RunSummary } from '../observe/index.ts';
import type { RoleRequest } from './role-groups.ts';
import type { RunSession, TrainerEvents, TrainerOptions } from './run-session.ts';
import { runStage, type StageConfig, type StageContext } from './run-stage.ts';

export abstract class Trainer<Config extends StageConfig> extends EventEmitter<TrainerEvents> {
  /** The method's name: the run's `method` in config.json, session.json, checkpoints and the summary. */
  abstract readonly method: string;
  /** The resolved config (defaults filled, derived sizes computed); written to the run's config.json. */
  readonly config: Config;
  protected readonly options: TrainerOptions;
  /** Set while `train()` runs. */
  protected session: RunSession | undefined;

  protected constructor(config: Config, options: TrainerOptions) {
    super();
    this.config = config;
    this.options = options;
  }

  /** Trains to the end (or until stopped) and returns the summary also written to summary.json. */
  train(): Promise<RunSummary> {
    return runStage(
      { method: this.method, config: this.config, roles: () => this.roleRequests(), loop: (stage) => this.loop(stage) },
      { events: this, options: this.options, onSession: (session) => (this.session = session) },
    );
  }

  /** The roles this stage launches, with their weights, optimizers and sizes. */
  protected abstract roleRequests(): RoleRequest[];

  /** The stage's iteration, from fresh or resumed state to its summary. */
  protected abstract loop(stage: StageContext): Promise<RunSummary>;

  /**
   * Releases the run's actors and placement groups now and resolves once they are free; `train()` then rejects
   * with TRAINING_ABORTED. A no-op before `train()` has opened its session.
   */
  async abort(): Promise<void> {
    await this.session?.abort();
  }
}

/**
 * The base class of one method's trainer: its name, and a constructor that parses the config input with the
 * method's schema (every problem listed in one ConfigError). The subclass adds only its roles and its loop.
 *
 * @example
 * export class SFTTrainer extends methodTrainer('sft', sftConfigSchema) {
 *   protected roleRequests(): RoleRequest[] { ... }
 *   protected async loop(stage: StageContext): Promise<RunSummary> { ... }
 * }
 * const summary = await new SFTTrainer({ task: { name: 'sentiment' } }).train();
 */
export function methodTrainer<Schema extends z.ZodType<StageConfig>>(method: string, schema: Schema) {
  abstract class MethodTrainer extends Trainer<z.output<Schema>> {
    readonly method = method;

    constructor(config: z.input<Schema>, options: TrainerOptions = {}) {
      // A model.init folder is written before parsing, which reads its config.json (as planRecipe does).
      writeFreshModels(config);
      super(parseConfig(schema, config), options);
    }
  }
  return MethodTrainer;
}
