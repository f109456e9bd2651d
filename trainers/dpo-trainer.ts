/**
 * DPO: the policy and a frozen reference; no reward model, no value model, no sampling during training.
 * Reads top to bottom: launch roles -> baseline evaluation -> steps of (reference scores the pairs -> policy
 * takes a data-parallel DPO step -> log -> evaluate) -> final evaluation.
 *
 * Pairs come from the task (the sentiment task's seeded pairs, the cursor is the step) or from the user's
 * preference files (`data`: seeded shuffled order, the cursor in the checkpoint's driver state). With files, each
 * evaluation measures the held-out pairs (preference accuracy and reward margin of DPO's implicit reward) and,
 * when `rewards` are given, samples completions of the eval pairs' prompts and scores them with those functions.
 */
import type { DatasetCursorState } from '../data/datasets/dataset-cursor.ts';
import { tokenizerOf } from '../models/model-spec.ts';
import { createTask, type TaskConfig } from '../models/tasks/index.ts';
import type { RunSummary } from '../observe/index.ts';
import { DatasetPairs, modelPositions, type TextPair } from './dataset-pairs.ts';
import { dpoConfigSchema } from './dpo-config.ts';
import { evaluatePolicy, type EvaluationResult } from './evaluation.ts';
import { sumOverRanks } from './rank-stats.ts';
import type { RoleRequest } from './role-groups.ts';
import { policyAndReference, rolloutRole, scoringOf } from './role-requests.ts';
import type { PairLogProbs } from './roles/pair-log-probs.ts';
import { closeStep, finishPolicyStage, policyStageRoles, type PolicyStage, type StepRecord } from './policy-stage.ts';
import type { StageContext } from './run-stage.ts';
import { methodTrainer } from './trainer.ts';
import { DATA_STREAM_STRIDE } from './sft-trainer.ts';

/** Held-out pairs measured at each evaluation when `trainer.evalPairs` is not set. */
const DEFAULT_EVAL_PAIRS = 64;

/**
 * @example
 * const summary = await new DPOTrainer({ task: { name: 'sentiment' }, init: { policy: 'runs/demo/sft/model' } }).train();
 * // your pairs, with a reward module scoring held-out samples:
 * await new DPOTrainer({ task: { name: 'sentiment' }, model: { from: 'runs/llama' }, data: { train: 'pairs.jsonl', evalFraction: 0.1 },
 *   rewards: [{ module: './style.ts', export: 'polite' }] }).train();
 */
export class DPOTrainer extends methodTrainer('dpo', dpoConfigSchema) {
  protected roleRequests(): RoleRequest[] {
    const { config } = this;
    // Rollout workers only sample the evaluations (scored by the reward functions when given).
    return [...policyAndReference(config), rolloutRole(config, { temperature: 1 }, config.rewards ? scoringOf(config) : {})];
  }

  protected async loop({ session, durable, resumed }: StageContext): Promise<RunSummary> {
    const { config } = this;
    const { trainer, algo } = config;
    const roleSet = policyStageRoles(durable.roles, trainer);
    const { policy, reference, rollout } = roleSet;

    // ---- pairs: the task's, or the dataset's (validated and checked to fit before any step; cursor from the checkpoint)
    const saved = resumed?.driver as { baseline: EvaluationResult; steps: number; dataCursor?: DatasetCursorState } | undefined;
    const tokenizer = createTask(config.task as TaskConfig, tokenizerOf(config.derived.model)).tokenizer;
    const dataset = config.data
      ? await DatasetPairs.open(config.data, { stage: 'dpo', seed: config.seed, tokenizer, maxTokens: modelPositions(config.derived.model), cursor: saved?.dataCursor })
      : undefined;
    let evaluate = roleSet.evaluate;
    if (dataset) {
      const heldOut = await dataset.evalPairs(trainer.evalPairs ?? DEFAULT_EVAL_PAIRS);
      // The reference is frozen: its log-probs of the held-out pairs are computed once.
      const referenceRef = await reference.callRank(0, 'pairLogProbs', new Int32Array(heldOut.length), 0, heldOut);
      const referenceLogProbs = await referenceRef.get();
      referenceRef.release();
      const evalPrompts = config.rewards ? await dataset.evalPrompts(trainer.evalPrompts, config.derived.promptTokens) : undefined;
      evaluate = async () => {
        const preference = heldOutPreference(await policy.callRank(0, 'pairLogProbs', heldOut), referenceLogProbs, algo.beta);
        const sampled = evalPrompts
          ? await evaluatePolicy({ policy, rollout, reference }, { prompts: evalPrompts.prompts.length, samplesPerPrompt: trainer.evalSamplesPerPrompt, dataset: evalPrompts })
          : { goldReward: Number.NaN, samples: 0, completions: [] };
        return { ...sampled, heldOut: preference };
      };
    }

    // Driver state a checkpoint holds: the baseline evaluation, the steps done and the dataset's cursor (the task's is the step).
    const baseline = saved?.baseline ?? (await evaluate());
    const bar = session.progress('dpo', trainer.steps, config.logging.progress);
    let steps = saved?.steps ?? 0;
    const driverState = () => ({ baseline, steps, ...(dataset ? { dataCursor: dataset.cursor } : {}) });
    const stage: PolicyStage = { session, durable, policy, evaluate, driverState, bar, evalEvery: trainer.evalEvery, steps: trainer.steps };
    for (let step = await durable.start(driverState); step <= trainer.steps && !session.stopRequested; step++) {
      const started = performance.now();
      // ---- the reference scores this step's pairs once; every policy rank reads the scores it needs
      const indices = Int32Array.from({ length: trainer.batchSize }, (_, i) => config.seed * DATA_STREAM_STRIDE + (step - 1) * trainer.batchSize + i);
      const pairs: TextPair[] | undefined = dataset && (await dataset.next(trainer.batchSize));
      const referenceLogProbs = await reference.callRank(0, 'pairLogProbs', indices, trainer.labelNoise, ...(pairs ? [pairs] : []));
      const scored = performance.now();
      // ---- one data-parallel DPO step (Rafailov et al. 2023, Eq. 7)
      const options = { beta: algo.beta, variant: algo.variant, labelSmoothing: algo.labelSmoothing, labelNoise: trainer.labelNoise };
      const ranks = await policy.callAll('trainDpo', indices, referenceLogProbs, options, ...(pairs ? [pairs] : []));
      referenceLogProbs.release();
      const record: StepRecord = {
        step,
        ...sumOverRanks(ranks, ['gradNorm']),
        phaseSeconds: { score: (scored - started) / 1000, train: (performance.now() - scored) / 1000 },
      };
      steps = step;
      // DPO has no per-step gold reward, so its evaluations fill `goldReward` and `kl` directly.
      await closeStep(stage, record, { loss: (record.loss as number).toFixed(3) }, { gold: 'goldReward', kl: 'kl' });
    }
    return await finishPolicyStage(stage, { method: 'dpo', baseline, steps, label: `beta=${algo.beta}` }, config as unknown as Record<string, unknown>);
  }
}

/**
 * DPO's implicit reward on held-out pairs (Rafailov et al. 2023, Eq. 5): r(x, y) = beta * (log pi(y|x) - log
 * pi_ref(y|x)). `preferenceAccuracy` is the share of pairs whose chosen completion gets the higher reward,
 * `rewardMargin` the mean of r(x, chosen) - r(x, rejected).
 *
 * @example
 * heldOutPreference({ chosen: Float32Array.of(-3), rejected: Float32Array.of(-5) }, { chosen: Float32Array.of(-4), rejected: Float32Array.of(-4) }, 0.1);
 * // { preferenceAccuracy: 1, rewardMargin: 0.2 }
 */
export function heldOutPreference(policy: PairLogProbs, reference: PairLogProbs, beta: number): { preferenceAccuracy: number; rewardMargin: number } {
  let correct = 0;
  let margin = 0;
  for (let i = 0; i < policy.chosen.length; i++) {
    const gap = beta * (policy.chosen[i]! - reference.chosen[i]! - (policy.rejected[i]! - reference.rejected[i]!));
    if (gap > 0) correct += 1;
    margin += gap;
  }
  const pairs = Math.max(policy.chosen.length, 1);
  return { preferenceAccuracy: correct / pairs, rewardMargin: margin / pairs };
}

