/**
 * What the policy-optimisation stages (PPO, DPO, GRPO) do around their own update, written once: close a step
 * (evaluate when due, append the metrics line, advance the bar, checkpoint when due) and finish the stage (last
 * checkpoint, final evaluation, the stage's model file, summary.json). Each trainer keeps only what differs: its
 * iteration and the method-specific fields of its summary.
 *
 * @example
 * const stage: PolicyStage = { session, durable, policy, evaluate, driverState, bar, evalEvery: 10, steps: 100 };
 * for (let step = await durable.start(driverState); step <= 100 && !session.stopRequested; step++) {
 *   const record = { step, loss: 0.3, phaseSeconds: {} };
 *   await closeStep(stage, record, { loss: '0.300' });
 * }
 * return finishPolicyStage(stage, { method: 'dpo', baseline, steps: 100, label: 'beta=0.1' }, config);
 */
import type { RunSummary } from '../observe/index.ts';
import type { ProgressBar } from '../runtime/observability/progress.ts';
import type { DriverState, DurableRun } from './durable-run.ts';
import { mean } from '../algorithms/statistics.ts';
import type { RolloutResult } from '../rollout/rollout-worker.ts';
import { evaluatePolicy, meanRewards, type EvaluationResult } from './evaluation.ts';
import type { RoleGroup, RoleSet } from './role-groups.ts';
import type { RunSession } from './run-session.ts';
import { saveStageModel } from './stage-output.ts';

/** The parts of a running policy stage that closing a step and finishing the stage need. */
export interface PolicyStage {
  session: RunSession;
  durable: DurableRun;
  policy: RoleGroup<'policy'>;
  /** Held-out evaluation of the current policy (gold reward, KL to the reference). */
  evaluate: () => Promise<EvaluationResult>;
  driverState: DriverState;
  bar: ProgressBar;
  /** Evaluate every this many steps (0: only before the first and after the last). */
  evalEvery: number;
  /** The stage's last step. */
  steps: number;
}

/**
 * The roles every policy stage has (policy, reference, rollout workers) and its held-out evaluation: gold reward
 * and KL to the reference of `evalSamplesPerPrompt` samples of `evalPrompts` held-out prompts.
 */
export function policyStageRoles(roles: RoleSet, trainer: { evalPrompts: number; evalSamplesPerPrompt: number }) {
  const policy = roles.group('policy', 'policy');
  const reference = roles.group('reference', 'reference');
  const rollout = roles.group('rollout', 'rollout');
  const evaluate = () => evaluatePolicy({ policy, rollout, reference }, { prompts: trainer.evalPrompts, samplesPerPrompt: trainer.evalSamplesPerPrompt });
  return { policy, reference, rollout, evaluate };
}

/** A step's metrics line: `phaseSeconds`, when present, also gets the evaluation's seconds as `eval`. */
export type StepRecord = { step: number; phaseSeconds?: Record<string, number> } & Record<string, unknown>;

/**
 * Ends a step: evaluates every `evalEvery` steps (not on the last, which the final evaluation covers) and adds
 * its gold reward and KL to the record under `evalKeys`, appends the record to metrics.jsonl, advances the bar
 * showing `fields`, then lets the durable run checkpoint if this step is due.
 */
export async function closeStep(
  stage: PolicyStage,
  record: StepRecord,
  fields: Record<string, string>,
  evalKeys: { gold: string; kl: string } = { gold: 'evalGoldReward', kl: 'evalKl' },
): Promise<void> {
  const { step } = record;
  if (stage.evalEvery > 0 && step % stage.evalEvery === 0 && step < stage.steps) {
    const started = performance.now();
    const evaluation = await stage.evaluate();
    if (record.phaseSeconds) record.phaseSeconds.eval = (performance.now() - started) / 1000;
    // An evaluation without samples (DPO on preference files without rewards) has only its held-out measures.
    if (evaluation.samples > 0) Object.assign(record, { [evalKeys.gold]: evaluation.goldReward, [evalKeys.kl]: evaluation.kl, ...prefixed('evalRewards/', evaluation.rewards), evalSamples: evaluation.completions });
    Object.assign(record, prefixed('heldOut/', evaluation.heldOut));
  }
  stage.session.recordStep(record);
  stage.bar.tick(1, fields);
  await stage.durable.stepDone(step, stage.driverState);
}

/** The driver-state fields a generation counter keeps (absent from checkpoints written before they were tracked). */
export interface GenerationCount {
  generatedTokens: number;
  generateSeconds: number;
}

/**
 * Tokens generated and seconds spent generating over a whole stage, for the summary's `generatedTokensPerSecond`.
 * Its `state()` goes into the driver state, so a resumed run keeps counting from where the checkpoint left it.
 */
export class GenerationCounter {
  private generatedTokens: number;
  private generateSeconds: number;

  constructor(saved?: Partial<GenerationCount>) {
    this.generatedTokens = saved?.generatedTokens ?? 0;
    this.generateSeconds = saved?.generateSeconds ?? 0;
  }

  add(tokens: number, seconds: number): void {
    this.generatedTokens += tokens;
    this.generateSeconds += seconds;
  }

  state(): GenerationCount {
    return { generatedTokens: this.generatedTokens, generateSeconds: this.generateSeconds };
  }

  perSecond(): number {
    return this.generatedTokens / Math.max(this.generateSeconds, 1e-9);
  }
}

/** What differs between the stages' summaries. */
export interface PolicyStageResult {
  method: 'ppo' | 'dpo' | 'grpo';
  baseline: EvaluationResult;
  /** Steps completed (fewer than configured when a stop was requested). */
  steps: number;
  /** Short label for comparisons, e.g. `beta=0.1`. */
  label: string;
  /** Mean KL over training when the method tracks it per step (PPO); otherwise the final evaluation's KL. */
  meanKl?: number;
  /** Further summary fields (e.g. generated tokens per second). */
  extra?: Record<string, unknown>;
}

/**
 * Finishes the stage: waits for the last checkpoint, evaluates the final policy, writes the stage's model file
 * (the next stage's `init`) and summary.json, and returns the summary.
 */
export async function finishPolicyStage(stage: PolicyStage, result: PolicyStageResult, config: Record<string, unknown>): Promise<RunSummary> {
  const { session, durable, policy } = stage;
  stage.bar.done();
  await durable.finish(stage.driverState);
  const final = await stage.evaluate();
  const model = await saveStageModel(policy, session.runDirectory, result.method, config);
  const sampled = final.samples > 0;
  return session.finish({
    method: result.method,
    ...(sampled ? { baselineGoldReward: result.baseline.goldReward, finalGoldReward: final.goldReward, finalKl: final.kl } : {}),
    ...(final.rewards ? { finalRewards: final.rewards } : {}),
    ...(final.heldOut ? { baselineHeldOut: result.baseline.heldOut, finalHeldOut: final.heldOut } : {}),
    finalEvalSamples: final.completions,
    ...(sampled || result.meanKl !== undefined ? { meanKl: result.meanKl ?? final.kl } : {}),
    steps: result.steps,
    wallSeconds: session.wallSeconds,
    ...result.extra,
    backend: (await policy.callRank(0, 'engineName')) ?? 'unknown',
    model,
    label: result.label,
    ...(session.stopRequested ? { stoppedBy: session.stopRequested } : {}),
  });
}

/**
 * What a sampling stage (PPO, GRPO) logs about a step's rollouts: the mean gold reward, each reward function's
 * mean as `rewards/<name>`, the mean response length over the step's `rows`, and the generation rate. Counts the
 * step's tokens and `generateSeconds` into `generation` (the summary's rate).
 */
export function rolloutMetrics(rollouts: readonly RolloutResult[], rows: number, generation: GenerationCounter, generateSeconds: number) {
  const responseTokens = rollouts.reduce((sum, result) => sum + result.responseTokens, 0);
  generation.add(responseTokens, generateSeconds);
  return {
    goldReward: mean(rollouts.flatMap((result) => Array.from(result.goldRewards))),
    ...prefixed('rewards/', meanRewards(rollouts)),
    responseLength: responseTokens / rows,
    generatedTokensPerSecond: responseTokens / generateSeconds,
  };
}

/** `{ name: value }` as `{ <prefix>name: value }` (per-function reward means in metrics lines); empty when undefined. */
export function prefixed(prefix: string, values: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([name, value]) => [`${prefix}${name}`, value]));
}
