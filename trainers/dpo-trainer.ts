/**
 * DPO: the policy and a frozen reference; no reward model, no value model, no sampling during training.
 * Reads top to bottom: launch roles -> baseline evaluation -> steps of (reference scores the pairs -> policy
 * takes a data-parallel DPO step -> log -> evaluate) -> final evaluation.
 */
import type { RunSummary } from '../observe/index.ts';
import { parseDpoConfig, type DPOConfig, type DPOConfigInput } from './dpo-config.ts';
import type { EvaluationResult } from './evaluation.ts';
import { sumOverRanks } from './rank-stats.ts';
import type { RoleRequest } from './role-groups.ts';
import { policyAndReference, rolloutRole } from './role-requests.ts';
import { closeStep, finishPolicyStage, policyStageRoles, type PolicyStage, type StepRecord } from './policy-stage.ts';
import type { TrainerOptions } from './run-session.ts';
import type { StageContext } from './run-stage.ts';
import { Trainer } from './trainer.ts';
import { DATA_STREAM_STRIDE } from './sft-trainer.ts';

/**
 * @example
 * const summary = await new DPOTrainer({ task: { name: 'sentiment' }, init: { policy: 'runs/demo/sft/model' } }).train();
 */
export class DPOTrainer extends Trainer<DPOConfig> {
  readonly method = 'dpo';

  constructor(config: DPOConfigInput, options: TrainerOptions = {}) {
    super(parseDpoConfig(config), options);
  }

  protected roleRequests(): RoleRequest[] {
    // Rollout workers only sample the gold-reward evaluations.
    return [...policyAndReference(this.config), rolloutRole(this.config, { temperature: 1 })];
  }

  protected async loop({ session, durable, resumed }: StageContext): Promise<RunSummary> {
    const { config } = this;
    const { trainer, algo } = config;
    const { policy, reference, evaluate } = policyStageRoles(durable.roles, trainer);

    // Driver state a checkpoint holds: the baseline evaluation and the steps done (the data cursor is the step).
    const saved = resumed?.driver as { baseline: EvaluationResult; steps: number } | undefined;
    const baseline = saved?.baseline ?? (await evaluate());
    const bar = session.progress('dpo', trainer.steps, config.logging.progress);
    let steps = saved?.steps ?? 0;
    const driverState = () => ({ baseline, steps });
    const stage: PolicyStage = { session, durable, policy, evaluate, driverState, bar, evalEvery: trainer.evalEvery, steps: trainer.steps };
    for (let step = await durable.start(driverState); step <= trainer.steps && !session.stopRequested; step++) {
      const started = performance.now();
      // ---- the reference scores this step's pairs once; every policy rank reads the scores it needs
      const indices = Int32Array.from({ length: trainer.batchSize }, (_, i) => config.seed * DATA_STREAM_STRIDE + (step - 1) * trainer.batchSize + i);
      const referenceLogProbs = await reference.callRank(0, 'pairLogProbs', indices, trainer.labelNoise);
      const scored = performance.now();
      // ---- one data-parallel DPO step (Rafailov et al. 2023, Eq. 7)
      const ranks = await policy.callAll('trainDpo', indices, referenceLogProbs, { beta: algo.beta, variant: algo.variant, labelSmoothing: algo.labelSmoothing, labelNoise: trainer.labelNoise });
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
