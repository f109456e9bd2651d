/**
 * PPO (Schulman et al. 2017) for language models with a learned reward and a KL penalty to the reference
 * (Ziegler et al. 2019; Ouyang et al. 2022). Four model roles and rollout workers run as actor groups; the driver
 * passes refs and reads a few numbers per step (ARCHITECTURE.md section 3).
 *
 * One iteration, top to bottom:
 *   sync weights -> rollout -> score (reference, reward, value in parallel) -> advantages (on the value role)
 *   -> epochs x minibatches of policy and value updates (data-parallel) -> log -> evaluate -> checkpoint
 *
 * Prompts come from the task or from the user's files (`data`: seeded order, the cursor in the checkpoint). The
 * reward is the reward model's score, the weighted sum of the user's reward functions (`rewards`, run in the
 * rollout workers as in GRPO and logged per function), or both added; the eval prompts are then the dataset's
 * eval split, scored by the reward functions.
 */
import { AdaptiveKlController, FixedKlController, type KlControllerState } from '../algorithms/index.ts';
import type { DatasetCursorState } from '../data/datasets/dataset-cursor.ts';
import { tokenizerOf } from '../models/model-spec.ts';
import { Rng } from '../models/rng.ts';
import { createTask, type TaskConfig } from '../models/tasks/index.ts';
import { PosttrainError } from '../runtime/errors.ts';
import type { RunSummary } from '../observe/index.ts';
import type { RolloutResult } from '../rollout/rollout-worker.ts';
import { DatasetPrompts, rolloutRequests } from './dataset-prompts.ts';
import { evaluatePolicy, syncRolloutWeights, type EvaluationResult } from './evaluation.ts';
import { ppoConfigSchema } from './ppo-config.ts';
import type { RoleGroup, RoleRequest } from './role-groups.ts';
import { modelRole, optimizerOf, policyAndReference, rolloutRole, scoringOf, weightsFrom } from './role-requests.ts';
import { drawMinibatchPlan } from './roles/minibatch-plan.ts';
import type { ScoredShard } from './roles/scored-shards.ts';
import { closeStep, finishPolicyStage, GenerationCounter, policyStageRoles, rolloutMetrics, type GenerationCount, type PolicyStage } from './policy-stage.ts';
import type { StageContext } from './run-stage.ts';
import { methodTrainer } from './trainer.ts';
import { DATA_STREAM_STRIDE } from './sft-trainer.ts';
import { sumOverRanks } from './rank-stats.ts';

/** What the PPO driver holds between steps; checkpoints save it, resume and fail-over restore it. */
interface PpoDriverState extends GenerationCount {
  rng: number[];
  klController: KlControllerState;
  klHistory: number[];
  baseline: EvaluationResult;
  /** The dataset's cursor, when the prompts come from files (the task's cursor is the step). */
  dataCursor?: DatasetCursorState;
}

/**
 * @example
 * const trainer = new PPOTrainer({ task: { name: 'sentiment' }, init: { policy: 'runs/demo/sft/model', reward: 'runs/demo/reward/model' } });
 * trainer.on('step', (metrics) => console.log(metrics.step, metrics.goldReward));
 * const summary = await trainer.train();
 */
export class PPOTrainer extends methodTrainer('ppo', ppoConfigSchema) {
  protected roleRequests(): RoleRequest[] {
    const { config } = this;
    const { trainer, init } = config;
    return [
      ...policyAndReference(config),
      ...(init.reward ? [modelRole(config, { name: 'reward', kind: 'reward', head: 'reward', weights: weightsFrom(config, init.reward) })] : []),
      // The value model starts from the reward model (InstructGPT), with its own learning rate if set.
      modelRole(config, {
        name: 'value',
        kind: 'value',
        head: 'value',
        weights: weightsFrom(config, init.value ?? init.reward ?? init.policy),
        optimizer: optimizerOf(trainer, trainer.valueLearningRate ?? trainer.learningRate),
      }),
      rolloutRole(config, config.rollout, scoringOf(config)),
    ];
  }

  protected async loop({ session, durable, resumed }: StageContext): Promise<RunSummary> {
    const { config } = this;
    const { roles } = durable;
    const { rollout: rolloutConfig, algo, trainer } = config;
    const roleSet = policyStageRoles(roles, trainer);
    const { policy, reference, rollout } = roleSet;
    const reward = roles.groups.has('reward') ? roles.group('reward', 'reward') : undefined;
    const value = roles.group('value', 'value');
    const saved = resumed?.driver as PpoDriverState | undefined;

    // ---- prompts: the task's, or the dataset's (validated and checked to fit before any step; cursor from the checkpoint)
    const tokenizer = createTask(config.task as TaskConfig, tokenizerOf(config.derived.model)).tokenizer;
    const dataset = config.data ? await DatasetPrompts.open(config.data, { stage: 'ppo', seed: config.seed, tokenizer, promptTokens: config.derived.promptTokens, cursor: saved?.dataCursor }) : undefined;
    const evalDataset = dataset && (await dataset.evalPrompts(trainer.evalPrompts));
    const evaluate = evalDataset ? () => evaluatePolicy({ policy, rollout, reference }, { prompts: trainer.evalPrompts, samplesPerPrompt: trainer.evalSamplesPerPrompt, dataset: evalDataset }) : roleSet.evaluate;

    // ---- driver state: fresh, or as the checkpoint (resume) or recovery point (fail-over) left it
    const klController = saved
      ? klControllerFromState(saved.klController)
      : algo.adaptiveKl
        ? new AdaptiveKlController({ initial: algo.klCoef, target: algo.adaptiveKl.target, horizon: algo.adaptiveKl.horizon })
        : new FixedKlController(algo.klCoef);
    const rng = saved ? Rng.fromState(saved.rng) : new Rng(config.seed);
    const baseline = saved?.baseline ?? (await evaluate());
    if (!saved) session.logger.info({ goldReward: baseline.goldReward }, 'baseline (the starting policy) evaluated');
    const bar = session.progress('ppo', trainer.steps, config.logging.progress);
    const klHistory: number[] = saved?.klHistory ?? [];
    const generation = new GenerationCounter(saved);
    const driverState = (): PpoDriverState => ({ rng: rng.state(), klController: klController.state(), klHistory, ...generation.state(), baseline, ...(dataset ? { dataCursor: dataset.cursor } : {}) });
    const stage: PolicyStage = { session, durable, policy, evaluate, driverState, bar, evalEvery: trainer.evalEvery, steps: trainer.steps };

    for (let step = await durable.start(driverState); step <= trainer.steps && !session.stopRequested; step++) {
      const phases: Record<string, number> = {};
      const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        try {
          return await work();
        } finally {
          phases[phase] = (phases[phase] ?? 0) + (performance.now() - started) / 1000;
        }
      };

      // ---- rollout: each worker generates its share of this step's prompts with the newest weights
      const weights = await timed('sync', () => syncRolloutWeights(policy, rollout));
      const promptIndices = Int32Array.from({ length: rolloutConfig.batchSize }, (_, i) => config.seed * DATA_STREAM_STRIDE + (step - 1) * rolloutConfig.batchSize + i);
      const batchPrompts = dataset && (await dataset.next(rolloutConfig.batchSize));
      // With reward functions the workers put their weighted sum in the experience's scores (the reward model's score is added to it).
      const rollouts = await timed('generate', () => rollout.scatter('generate', rolloutRequests(promptIndices, rollout.size, { split: 'train', goldAsScores: config.rewards !== undefined }, batchPrompts)));

      // ---- score: reference log-probs, reward-model scores and old values of every shard, in parallel
      const shards = await timed('score', () => Promise.all(rollouts.map((result, index) => scoreShard(result, index, { reference, reward, value }))));

      // ---- advantages: KL-shaped rewards and GAE on the value role (it holds the old values)
      const { batch, stats } = await timed('advantages', () =>
        value.callRank(0, 'computeAdvantages', shards, { klCoef: klController.value, klEstimator: algo.klEstimator, gamma: algo.gamma, lambda: algo.lambda, whitenAdvantages: algo.whitenAdvantages }),
      );
      for (const shard of shards) for (const ref of Object.values(shard)) ref.release();
      if (stats.weightChecksum !== weights.checksum) {
        throw new PosttrainError('WEIGHTS_OUT_OF_SYNC', `step ${step}: experience was generated with weights ${stats.weightChecksum} (v${stats.weightVersion}), the policy published ${weights.checksum} (v${weights.version})`);
      }

      // ---- train: the same minibatch plan for both roles; each is data-parallel across its ranks
      const plan = drawMinibatchPlan(rng, { batchSize: rolloutConfig.batchSize, epochs: algo.epochs, minibatchSize: config.derived.minibatchSize });
      const [policyStats, valueStats] = await timed('train', () =>
        Promise.all([
          policy.callAll('trainPolicy', batch, plan, { clipLow: algo.clipRange, clipHigh: algo.clipRangeHigh ?? algo.clipRange, ...(algo.dualClip ? { dualClip: algo.dualClip } : {}) }),
          value.callAll('trainValue', batch, plan, algo.valueClipRange > 0 ? { clip: algo.valueClipRange } : {}),
        ]),
      );
      batch.release();
      klController.update(stats.kl, rolloutConfig.batchSize);
      klHistory.push(stats.kl);

      // ---- log
      const policyTotals = sumOverRanks(policyStats, ['gradNorm']);
      const valueTotals = sumOverRanks(valueStats, ['gradNorm']);
      const record = {
        step,
        ...rolloutMetrics(rollouts, rolloutConfig.batchSize, generation, phases.generate!),
        modelReward: stats.modelReward,
        kl: stats.kl,
        klCoef: klController.value,
        policyLoss: policyTotals.policyLoss,
        valueLoss: valueTotals.valueLoss,
        clipFraction: policyTotals.clipFraction,
        approxKl: policyTotals.approxKl,
        entropy: policyTotals.entropy,
        valueClipFraction: valueTotals.valueClipFraction,
        meanReturn: stats.meanReturn,
        weightVersion: stats.weightVersion,
        weightChecksum: stats.weightChecksum,
        phaseSeconds: phases,
      };
      // ---- evaluate when due, record, checkpoint (every checkpoint.everySteps, and on a stop request)
      await closeStep(stage, record, { gold: record.goldReward.toFixed(3), kl: record.kl.toFixed(3) });
    }
    return finishPolicyStage(
      stage,
      {
        method: 'ppo',
        baseline,
        steps: klHistory.length,
        label: `klCoef=${config.algo.klCoef}`,
        meanKl: mean(klHistory),
        extra: { generatedTokensPerSecond: generation.perSecond(), ...(baseline.rewards ? { baselineRewards: baseline.rewards } : {}) },
      },
      config as unknown as Record<string, unknown>,
    );
  }
}

/** Sends one rollout shard to the scoring roles (shard i to rank i mod size of each). */
async function scoreShard(
  result: RolloutResult,
  index: number,
  roles: { reference: RoleGroup<'reference'>; reward: RoleGroup<'reward'> | undefined; value: RoleGroup<'value'> },
): Promise<ScoredShard> {
  const { experience } = result;
  const [referenceLogProbs, scores, values] = await Promise.all([
    roles.reference.callRank(index % roles.reference.size, 'logProbs', experience),
    roles.reward?.callRank(index % roles.reward.size, 'scores', experience),
    roles.value.callRank(index % roles.value.size, 'values', experience),
  ]);
  return { experience, referenceLogProbs, ...(scores ? { scores } : {}), values };
}

function klControllerFromState(state: KlControllerState): AdaptiveKlController | FixedKlController {
  return state.kind === 'adaptive' ? AdaptiveKlController.fromState(state) : new FixedKlController(state.value);
}

function mean(values: number[]): number {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : Number.NaN;
}
