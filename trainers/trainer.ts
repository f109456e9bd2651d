/**
 * What every trainer is to its users: constructed from a config (validated at once, so a bad config fails before
 * anything starts), `train()` returning the run summary, `step` / `checkpoint` / `done` events, and `abort()`.
 */
import { EventEmitter } from 'node:events';
import type { RunSummary } from '../observe/index.ts';
import type { RunSession, TrainerEvents, TrainerOptions } from './run-session.ts';

export abstract class Trainer<Config> extends EventEmitter<TrainerEvents> {
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
  abstract train(): Promise<RunSummary>;

  /**
   * Releases the run's actors and placement groups now and resolves once they are free; `train()` then rejects
   * with TRAINING_ABORTED. A no-op before `train()` has opened its session.
   */
  async abort(): Promise<void> {
    await this.session?.abort();
  }
}
