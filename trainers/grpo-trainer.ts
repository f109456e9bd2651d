/**
 * GRPO: critic-free policy optimisation with grouped samples (Shao et al. 2024). Roles: policy, reference,
 * rollout workers, and a reward model only when one is configured (otherwise the task's verifier scores samples
 * inside the rollout workers).
 *
 * One iteration, top to bottom:
 *   sync weights -> rollout G samples per prompt -> score (reference log-probs; reward model if any)
 *   -> group advantages (on policy rank 0) -> epochs x minibatches of clipped updates with KL in the loss -> log
 */
import type { DatasetCursorState } from '../data/datasets/dataset-cursor.ts';
import { tokenizerOf } from '../models/model-spec.ts';
import { Rng } from '../models/rng.ts';
import { createTask, type TaskConfig } from '../models/tasks/index.ts';
import type { RunSummary } from '../observe/index.ts';
import { DatasetPrompts, rolloutRequests } from './dataset-prompts.ts';
import { evaluatePolicy, syncRolloutWeights, type EvaluationResult } from './evaluation.ts';
import { grpoConfigSchema } from './grpo-config.ts';
import { sumOverRanks } from './rank-stats.ts';
import type { RoleRequest } from './role-groups.ts';
import { modelRole, policyAndReference, rolloutRole, scoringOf, weightsFrom } from './role-requests.ts';
import { drawMinibatchPlan } from './roles/minibatch-plan.ts';
import { closeStep, finishPolicyStage, GenerationCounter, policyStageRoles, rolloutMetrics, type GenerationCount, type PolicyStage, type StepRecord } from './policy-stage.ts';
import type { StageContext } from './run-stage.ts';
import { methodTrainer } from './trainer.ts';
import { DATA_STREAM_STRIDE } from './sft-trainer.ts';
import { GROUP_ESTIMATORS } from './advantages/group-estimators.ts';

/**
 * @example
 * const summary = await new GRPOTrainer({ task: { name: 'arithmetic' }, init: { policy: 'runs/demo/sft/model' } }).train();
 */
export class GRPOTrainer extends methodTrainer('grpo', grpoConfigSchema) {
  protected roleRequests(): RoleRequest[] {
    const { config } = this;
    return [
      ...policyAndReference(config),
      // A reward model scores samples only when one is configured; otherwise the task's verifier does.
      ...(config.init.reward ? [modelRole(config, { name: 'reward', kind: 'reward', head: 'reward', weights: weightsFrom(config, config.init.reward) })] : []),
      rolloutRole(config, config.rollout, scoringOf(config)),
    ];
  }

  protected async loop({ session, durable, resumed }: StageContext): Promise<RunSummary> {
    const { config } = this;
    const { roles } = durable;
    const { rollout: rolloutConfig, algo, trainer } = config;
    const saved = resumed?.driver as ({ rng: number[]; baseline: EvaluationResult; steps: number; dataCursor?: DatasetCursorState } & Partial<GenerationCount>) | undefined;
    // ---- prompts: the task's, or the dataset's (validated and checked to fit before any step; cursor from the checkpoint)
    const tokenizer = createTask(config.task as TaskConfig, tokenizerOf(config.derived.model)).tokenizer;
    const dataset = config.data ? await DatasetPrompts.open(config.data, { seed: config.seed, tokenizer, promptTokens: config.derived.promptTokens, cursor: saved?.dataCursor }) : undefined;
    const evalDataset = dataset && (await dataset.evalPrompts(trainer.evalPrompts));
    const roleSet = policyStageRoles(roles, trainer);
    const { policy, reference, rollout } = roleSet;
    const evaluate = evalDataset ? () => evaluatePolicy({ policy, rollout, reference }, { prompts: trainer.evalPrompts, samplesPerPrompt: trainer.evalSamplesPerPrompt, dataset: evalDataset }) : roleSet.evaluate;
    const reward = roles.groups.has('reward') ? roles.group('reward', 'reward') : undefined;
    // The estimator decides where the KL penalty goes: in its reward (REINFORCE++) or in the policy loss.
    const klInLoss = GROUP_ESTIMATORS[algo.estimator].klInReward ? 0 : algo.klCoef;

    // ---- driver state: fresh, or as the checkpoint (resume) or recovery point (fail-over) left it
    const rng = saved ? Rng.fromState(saved.rng) : new Rng(config.seed);
    const baseline = saved?.baseline ?? (await evaluate());
    const bar = session.progress('grpo', trainer.steps, config.logging.progress);
    let steps = saved?.steps ?? 0;
    const generation = new GenerationCounter(saved);
    const driverState = () => ({ rng: rng.state(), baseline, steps, ...generation.state(), ...(dataset ? { dataCursor: dataset.cursor } : {}) });
    const stage: PolicyStage = { session, durable, policy, evaluate, driverState, bar, evalEvery: trainer.evalEvery, steps: trainer.steps };
    for (let step = await durable.start(driverState); step <= trainer.steps && !session.stopRequested; step++) {
      const phases: Record<string, number> = {};
      let mark = performance.now();
      const lap = (phase: string) => {
        const now = performance.now();
        phases[phase] = (now - mark) / 1000;
        mark = now;
      };

      // ---- rollout: whole groups per worker, so a group's samples stay adjacent
      const weights = await syncRolloutWeights(policy, rollout);
      lap('sync');
      const promptIndices = Int32Array.from({ length: rolloutConfig.promptsPerStep }, (_, i) => config.seed * DATA_STREAM_STRIDE + (step - 1) * rolloutConfig.promptsPerStep + i);
      const batchPrompts = dataset && (await dataset.next(rolloutConfig.promptsPerStep));
      const rollouts = await rollout.scatter('generate', rolloutRequests(promptIndices, rollout.size, { split: 'train', samplesPerPrompt: rolloutConfig.samplesPerPrompt, goldAsScores: !reward }, batchPrompts));
      lap('generate');

      // ---- score: reference log-probs for the KL term; reward-model scores when configured
      const shards = await Promise.all(
        rollouts.map(async (result, index) => ({
          experience: result.experience,
          referenceLogProbs: await reference.callRank(index % reference.size, 'logProbs', result.experience),
          ...(reward ? { scores: await reward.callRank(index % reward.size, 'scores', result.experience) } : {}),
        })),
      );
      lap('score');

      // ---- advantages: relative to each prompt's group, on policy rank 0
      const { batch, stats } = await policy.callRank(0, 'computeGroupAdvantages', shards, {
        estimator: algo.estimator,
        samplesPerPrompt: rolloutConfig.samplesPerPrompt,
        scale: algo.scale,
        klCoef: algo.klCoef,
        klEstimator: algo.klEstimator,
      });
      for (const shard of shards) for (const ref of Object.values(shard)) ref.release();
      lap('advantages');

      // ---- train: clipped surrogate; KL to the reference in the loss unless the estimator put it in the reward
      const plan = drawMinibatchPlan(rng, { batchSize: config.derived.rowsPerStep, epochs: algo.epochs, minibatchSize: config.derived.minibatchSize });
      const ranks = await policy.callAll('trainPolicy', batch, plan, { clipLow: algo.clipRange, clipHigh: algo.clipRange, klCoef: klInLoss, klEstimator: algo.klEstimator });
      batch.release();
      lap('train');

      const record: StepRecord = {
        step,
        ...rolloutMetrics(rollouts, config.derived.rowsPerStep, generation, phases.generate!),
        score: stats.score,
        kl: stats.kl,
        mixedGroups: stats.mixedGroups,
        ...sumOverRanks(ranks, ['gradNorm']),
        weightVersion: weights.version,
        weightChecksum: weights.checksum,
        phaseSeconds: phases,
      };
      steps = step;
      // ---- evaluate when due, record, checkpoint (every checkpoint.everySteps, and on a stop request)
      await closeStep(stage, record, { reward: (record.goldReward as number).toFixed(3) });
    }
    const extra = { generatedTokensPerSecond: generation.perSecond(), ...(baseline.rewards ? { baselineRewards: baseline.rewards } : {}) };
    return finishPolicyStage(stage, { method: 'grpo', baseline, steps, label: algo.estimator, extra }, config as unknown as Record<string, unknown>);
  }
}
