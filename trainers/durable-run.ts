/**
 * What makes a training loop durable, in the shape of the loop itself, so that each trainer keeps reading top to
 * bottom as its algorithm (rollout -> score -> advantages -> train -> log -> checkpoint):
 *
 *   const durable = await DurableRun.open(session, roles, config.checkpoint);
 *   return durable.run(async (resumed) => {
 *     const rng = resumed ? Rng.fromState(resumed.driver.rng) : new Rng(seed);   // driver state: saved or fresh
 *     const driverState = () => ({ rng: rng.state() });
 *     for (let step = await durable.start(driverState); step <= steps && !session.stopRequested; step++) {
 *       ... the step ...
 *       session.recordStep(record);
 *       await durable.stepDone(step, driverState);
 *     }
 *     await durable.finish(driverState);
 *     ...
 *   });
 *
 * - Checkpoints: `stepDone` saves every `checkpoint.everySteps` steps, when a stop is requested (SIGTERM, SIGINT, a
 *   spot interruption notice) and `finish` at the end. The loop waits for reading the roles' state and the
 *   in-memory copy only; the upload runs in the background (runtime/checkpoint/checkpoint-writer.ts).
 * - Resume: `run` restores the state the session's checkpoints resumed from (every trainable rank, every rollout
 *   RNG) before the loop starts and hands the driver's part to the loop, which starts after its step.
 * - Spot notices: with `checkpoint.spotNoticeUrl` a watcher polls every `spotPollMs` and at every step boundary;
 *   a notice requests a stop, so the current step ends, is checkpointed and the run exits with `stoppedBy`.
 * - Fail-over: the newest *recovery point* is kept on the driver: the state at the start, then the state of every
 *   checkpoint, and with warm spares the state after every step. When the loop throws because a role host died,
 *   `run` replaces the dead hosts (spares.ts: a warm spare, else a new host), rewinds metrics.jsonl to the
 *   recovery point's step, restores every stateful role from it and re-enters the loop after that step. With a
 *   spare that is the failed step alone, retried at once; without, the steps since the newest checkpoint are
 *   redone. Either way the run is not restarted, and on a deterministic backend it computes exactly what an
 *   uninterrupted run computes. Driver memory holds one recovery point (the bytes the checkpoint uploads).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PosttrainError } from '../runtime/errors.ts';
import { SpotNoticeWatcher } from '../runtime/faults/index.ts';
import type { CheckpointConfig } from './config-sections.ts';
import type { RoleSet } from './role-groups.ts';
import type { RunSession } from './run-session.ts';
import { HostReplacer, type Replacement } from './spares.ts';
import { captureTrainingState, restoreTrainingState, type TrainingState } from './training-state.ts';

/** A fail-over, as summary.json and the `failover` event report it. */
export interface FailoverRecord {
  /** The step that failed (it is redone). */
  failedStep: number;
  /** The step whose state the run went back to (failedStep - 1 with a warm spare). */
  resumedFromStep: number;
  replaced: Replacement[];
  /** Seconds from the failure reaching the driver to the loop running again. */
  seconds: number;
  /** The error that revealed the death. */
  error: string;
}

/** A driver's own state, JSON-safe (Rng and KL controller states, running totals). */
export type DriverState = () => object;

/** Fail-overs in a row without a completed step before the run gives up (a host that dies at every try). */
const MAX_FAILOVERS_WITHOUT_PROGRESS = 3;
/** Errors that a death elsewhere causes (a survivor may report one before the head has seen the death). */
const DEATH_SYMPTOMS = /^(ACTOR_DIED|OBJECT_LOST|COLLECTIVE_)/;
/** How long to look for the dead host behind such a symptom. */
const DEATH_GRACE_MS = 3_000;

export class DurableRun {
  readonly session: RunSession;
  readonly roles: RoleSet;
  private readonly config: CheckpointConfig;
  private readonly replacer: HostReplacer;
  private readonly watcher: SpotNoticeWatcher | undefined;
  private recoveryPoint: TrainingState | undefined;
  private lastCompletedStep = 0;
  private failoversWithoutProgress = 0;

  private constructor(session: RunSession, roles: RoleSet, config: CheckpointConfig) {
    this.session = session;
    this.roles = roles;
    this.config = config;
    this.replacer = new HostReplacer(session.runtime, roles, session.logger);
    this.recoveryPoint = session.checkpoints.resumed;
    this.lastCompletedStep = session.checkpoints.resumed?.step ?? 0;
    this.watcher = config.spotNoticeUrl
      ? new SpotNoticeWatcher({
          url: config.spotNoticeUrl,
          pollMs: config.spotPollMs,
          logger: session.logger,
          onNotice: (notice) => session.requestStop(`spot-interruption: ${notice.action} at ${notice.time}`),
        })
      : undefined;
  }

  /** Starts the warm spares (resolves when they are ready) and the spot-notice watcher. */
  static async open(session: RunSession, roles: RoleSet, config: CheckpointConfig): Promise<DurableRun> {
    const durable = new DurableRun(session, roles, config);
    await durable.replacer.startSpares();
    durable.watcher?.start();
    return durable;
  }

  /** Runs the loop; restores a resumed state first, and re-enters the loop after a fail-over (see above). */
  async run<T>(loop: (resumed: TrainingState | undefined) => Promise<T>): Promise<T> {
    let resumed = this.session.checkpoints.resumed;
    try {
      for (;;) {
        try {
          if (resumed) await restoreTrainingState(this.roles, resumed);
          // The loop gets its own copy of the driver state: the recovery point must not change under it.
          return await loop(resumed && { ...resumed, driver: structuredClone(resumed.driver) });
        } catch (error) {
          resumed = await this.failOver(error);
        }
      }
    } finally {
      this.watcher?.stop();
      this.replacer.close();
    }
  }

  /**
   * Call once before the first step, after the driver state exists; returns the first step to run. Makes the
   * state at the start the first recovery point (a resumed run already has one: its checkpoint).
   */
  async start(driverState: DriverState): Promise<number> {
    const first = this.lastCompletedStep + 1;
    this.recoveryPoint ??= await captureTrainingState(this.roles, this.lastCompletedStep, structuredClone(driverState()));
    await this.session.faults?.stepStarting(first, this.roles);
    return first;
  }

  /**
   * Call after each step is logged. Checkpoints when one is due or a stop was requested (waiting only for the
   * state to be read and copied), keeps the recovery point, and polls for a spot notice.
   */
  async stepDone(step: number, driverState: DriverState): Promise<void> {
    this.lastCompletedStep = step;
    this.failoversWithoutProgress = 0;
    this.replacer.refill();
    await this.session.faults?.stepDone(step);
    await this.watcher?.check();
    const due = this.config.everySteps > 0 && step % this.config.everySteps === 0;
    const stopping = this.session.stopRequested !== undefined;
    if (due || stopping || this.replacer.enabled) {
      const started = performance.now();
      const state = await captureTrainingState(this.roles, step, structuredClone(driverState()));
      this.recoveryPoint = state;
      if (due || stopping) this.session.checkpoints.save(state, started);
    }
    if (!stopping) await this.session.faults?.stepStarting(step + 1, this.roles);
  }

  /** Call after the last step: checkpoints the final state (unless that step was just saved) and waits for uploads. */
  async finish(driverState: DriverState): Promise<void> {
    const step = this.lastCompletedStep;
    if (step > 0 && this.session.checkpoints.lastSavedStep !== step) {
      const started = performance.now();
      this.session.checkpoints.save(await captureTrainingState(this.roles, step, driverState()), started);
    }
    await this.session.checkpoints.flush();
  }

  /** Replaces dead hosts and returns the state to go on from; rethrows when no host died (a real error). */
  private async failOver(error: unknown): Promise<TrainingState | undefined> {
    if (this.session.aborted) throw error;
    const started = performance.now();
    let dead = await this.replacer.findDead();
    const symptom = error instanceof PosttrainError && DEATH_SYMPTOMS.test(error.code);
    for (let waited = 0; dead.length === 0 && symptom && waited < DEATH_GRACE_MS; waited += 250) {
      await sleep(250);
      dead = await this.replacer.findDead();
    }
    if (dead.length === 0) throw error;
    if (++this.failoversWithoutProgress > MAX_FAILOVERS_WITHOUT_PROGRESS) {
      this.session.logger.error({ step: this.lastCompletedStep + 1 }, `giving up: ${MAX_FAILOVERS_WITHOUT_PROGRESS} fail-overs without completing a step`);
      throw error;
    }
    const failedStep = this.lastCompletedStep + 1;
    this.session.logger.warn({ step: failedStep, dead: dead.map((each) => ({ roles: each.roles, rank: each.rank, cause: each.cause })) }, `step ${failedStep} failed: a role host died; failing over`);
    const replaced = await this.replacer.replace(dead);
    const point = this.recoveryPoint;
    const resumedFromStep = point?.step ?? 0;
    this.session.rewindMetrics(resumedFromStep);
    this.lastCompletedStep = resumedFromStep;
    this.session.noteFailover({
      failedStep,
      resumedFromStep,
      replaced,
      seconds: (performance.now() - started) / 1000,
      error: (error as Error).message ?? String(error),
    });
    return point;
  }
}
