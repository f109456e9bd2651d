/**
 * The contract every stage's `train()` keeps, written once: open the run session (run directory, runtime,
 * logging, checkpoints), launch the roles, release them at once on abort (a pruned sweep trial must not hold its
 * resources), run the loop under the durable run (resume, fail-over, checkpoints), report a failure as the
 * session's error, and always destroy the roles and close the session. A trainer supplies only its roles and
 * its loop; a new trainer cannot forget a step of this.
 *
 * @example
 * return runStage({ method: 'dpo', config, roles: () => [policyRequest, referenceRequest], loop: ({ session, durable, resumed }) => ... }, {
 *   events: this, options: this.options, onSession: (session) => (this.session = session),
 * });
 */
import type { EventEmitter } from 'node:events';
import type { RunSummary } from '../observe/index.ts';
import type { CheckpointConfig, LoggingConfig, RuntimeConfig } from './config-sections.ts';
import { DurableRun } from './durable-run.ts';
import { launchRoles, type RoleRequest, type RoleSet } from './role-groups.ts';
import { RunSession, type TrainerEvents, type TrainerOptions } from './run-session.ts';
import type { TrainingState } from './training-state.ts';

/** The config sections the stage runner reads; every method's config has them. */
export interface StageConfig {
  name: string;
  runtime: RuntimeConfig;
  logging: LoggingConfig;
  checkpoint: CheckpointConfig;
}

/** What a stage's loop works with. */
export interface StageContext {
  session: RunSession;
  /** The durable run: its launched roles (`durable.roles`, replaced on fail-over), step bookkeeping, checkpoints. */
  durable: DurableRun;
  /** The state to continue from (a checkpoint, or the recovery point after a fail-over); undefined on a fresh start. */
  resumed: TrainingState | undefined;
}

/** One stage: its method, resolved config, the roles it launches and its loop. */
export interface StageDefinition {
  method: string;
  config: StageConfig;
  /** The role requests (built after the session is open). */
  roles: () => RoleRequest[];
  /** The stage's own iteration; runs again from the recovery point after a fail-over. */
  loop: (stage: StageContext) => Promise<RunSummary>;
}

/** Who runs the stage: its events, options, and where the open session is handed (for `abort()`). */
export interface StageOwner {
  events: EventEmitter<TrainerEvents>;
  options: TrainerOptions;
  onSession: (session: RunSession) => void;
}

/** Runs one stage under the contract above and returns its summary. */
export async function runStage(stage: StageDefinition, owner: StageOwner): Promise<RunSummary> {
  const { config } = stage;
  const session = await RunSession.open({
    method: stage.method,
    name: config.name,
    config,
    runtimeConfig: config.runtime,
    loggingConfig: config.logging,
    events: owner.events,
    trainerOptions: owner.options,
  });
  owner.onSession(session);
  let roles: RoleSet | undefined;
  try {
    roles = await launchRoles(session.runtime, stage.roles(), config.runtime, session.logger);
    session.releaseOnAbort(() => roles?.destroy());
    const durable = await DurableRun.open(session, roles, config.checkpoint);
    return await durable.run((resumed) => stage.loop({ session, durable, resumed }));
  } catch (error) {
    throw session.failure(error);
  } finally {
    await roles?.destroy();
    await session.close();
  }
}
