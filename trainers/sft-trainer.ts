/**
 * SFT: the policy learns the task's demonstrations with the masked next-token loss on completion tokens.
 * Reads top to bottom: launch roles -> steps of (batch -> data-parallel update -> log) -> evaluate -> save.
 * The output, `<run>/model.{json,bin}`, is what the reward-model, PPO, DPO and GRPO stages start from.
 */
import type { DatasetCursorState } from '../data/datasets/dataset-cursor.ts';
import { tokenizerOf } from '../models/model-spec.ts';
import { createTask, type TaskConfig } from '../models/tasks/index.ts';
import type { RunSummary } from '../observe/index.ts';
import { DatasetExamples } from './dataset-examples.ts';
import { evaluatePolicy } from './evaluation.ts';
import type { RoleRequest } from './role-groups.ts';
import { saveStageModel } from './stage-output.ts';
import { modelRole, optimizerOf, rolloutRole, weightsFrom } from './role-requests.ts';
import type { StageContext } from './run-stage.ts';
import { methodTrainer } from './trainer.ts';
import { sftConfigSchema } from './sft-config.ts';

/** SFT examples used for held-out loss start here; training uses indices from 0. */
export const HELD_OUT_OFFSET = 1_000_000_000;
/** Each seed reads its own stretch of the example stream: seed s starts at s * 10^7. */
export const DATA_STREAM_STRIDE = 10_000_000;

/**
 * @example
 * const summary = await new SFTTrainer({ task: { name: 'sentiment' }, trainer: { steps: 200 } }).train();
 */
export class SFTTrainer extends methodTrainer('sft', sftConfigSchema) {
  protected roleRequests(): RoleRequest[] {
    const { config } = this;
    return [
      modelRole(config, { name: 'policy', kind: 'policy', head: 'language', weights: weightsFrom(config, config.init.from), optimizer: optimizerOf(config.trainer) }),
      // One rollout worker samples the final gold-reward evaluation.
      rolloutRole(config, { temperature: 1 }),
    ];
  }

  protected async loop({ session, durable, resumed }: StageContext): Promise<RunSummary> {
    const { config } = this;
    const policy = durable.roles.group('policy', 'policy');
    const rollout = durable.roles.group('rollout', 'rollout');
    // ---- the loop: one data-parallel step per batch of demonstrations
    const { steps, batchSize, evalEvery, evalExamples } = config.trainer;
    const saved = resumed?.driver as { heldOutLoss?: number; dataCursor?: DatasetCursorState } | undefined;
    // Demonstrations: the task's, or the dataset's (validated before any step; its cursor from the checkpoint).
    const dataset = config.data
      ? await DatasetExamples.open(config.data, { seed: config.seed, tokenizer: createTask(config.task as TaskConfig, tokenizerOf(config.derived.model)).tokenizer, cursor: saved?.dataCursor })
      : undefined;
    const heldOutExamples = dataset && (await dataset.heldOut(evalExamples));
    const heldOut = Int32Array.from({ length: heldOutExamples?.length ?? evalExamples }, (_, i) => HELD_OUT_OFFSET + i);
    const bar = session.progress('sft', steps, config.logging.progress);
    // Driver state a checkpoint holds: the last held-out loss (the task's data cursor is the step; a dataset's is its own).
    let heldOutLoss = saved?.heldOutLoss ?? Number.NaN;
    const driverState = () => ({ heldOutLoss, ...(dataset ? { dataCursor: dataset.cursor } : {}) });
    const dataOffset = config.seed * DATA_STREAM_STRIDE;
    for (let step = await durable.start(driverState); step <= steps && !session.stopRequested; step++) {
      const started = performance.now();
      const indices = Int32Array.from({ length: batchSize }, (_, i) => dataOffset + (step - 1) * batchSize + i);
      const examples = dataset && (await dataset.next(batchSize));
      const ranks = await policy.callAll('trainSft', indices, ...(examples ? [examples] : []));
      const loss = ranks.reduce((sum, rank) => sum + rank.loss, 0);
      const record: Record<string, number> = { loss, gradNorm: ranks[0]!.gradNorm };
      if ((evalEvery > 0 && step % evalEvery === 0) || step === steps) {
        heldOutLoss = (await policy.callRank(0, 'evaluateSft', heldOut, ...(heldOutExamples ? [heldOutExamples] : []))).loss;
        record.heldOutLoss = heldOutLoss;
      }
      session.recordStep({ step, ...record, phaseSeconds: { train: (performance.now() - started) / 1000 } });
      bar.tick(1, { loss: loss.toFixed(3) });
      await durable.stepDone(step, driverState);
    }
    bar.done();
    await durable.finish(driverState);

    // ---- evaluate the gold reward of samples (the baseline later stages are measured against), save the model
    // The task's gold reward knows only the task's prompts: with a dataset, the held-out loss is the measure.
    const evaluation = config.trainer.evalPrompts > 0 && !dataset ? await evaluatePolicy({ policy, rollout }, { prompts: config.trainer.evalPrompts, samplesPerPrompt: config.trainer.evalSamplesPerPrompt }) : undefined;
    const model = await saveStageModel(policy, session.runDirectory, 'sft', config, { heldOutLoss });
    return session.finish({
      method: 'sft',
      steps: config.trainer.steps,
      finalHeldOutLoss: heldOutLoss,
      ...(evaluation ? { finalGoldReward: evaluation.goldReward } : {}),
      wallSeconds: session.wallSeconds,
      model,
    });
  }
}
