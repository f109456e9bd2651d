/**
 * Reward model: learn to score completions so that labelled-better ones score higher.
 * Reads top to bottom: launch the reward role -> steps of (pairs -> data-parallel update -> log) -> save.
 *
 * Pairs come from the task (the sentiment task's seeded pairs; the cursor is the step) or from the user's
 * preference files (`data`: seeded shuffled order, the cursor in the checkpoint's driver state; held-out accuracy
 * on the eval split's labels).
 */
import type { DatasetCursorState } from '../data/datasets/dataset-cursor.ts';
import { tokenizerOf } from '../models/model-spec.ts';
import { createTask, type TaskConfig } from '../models/tasks/index.ts';
import type { RunSummary } from '../observe/index.ts';
import { DatasetPairs, modelPositions } from './dataset-pairs.ts';
import { rewardConfigSchema } from './reward-config.ts';
import type { RoleRequest } from './role-groups.ts';
import { saveStageModel } from './stage-output.ts';
import { modelRole, optimizerOf, weightsFrom } from './role-requests.ts';
import type { StageContext } from './run-stage.ts';
import { methodTrainer } from './trainer.ts';
import { DATA_STREAM_STRIDE, HELD_OUT_OFFSET } from './sft-trainer.ts';

/**
 * @example
 * await new RewardTrainer({ task: { name: 'sentiment' }, init: { from: 'runs/demo/sft/model' } }).train();
 * // on your preference pairs:
 * await new RewardTrainer({ task: { name: 'sentiment' }, model: { from: 'runs/llama' }, data: { train: 'pairs.jsonl', evalFraction: 0.1 } }).train();
 */
export class RewardTrainer extends methodTrainer('reward', rewardConfigSchema) {
  protected roleRequests(): RoleRequest[] {
    // The SFT trunk with a fresh scalar head (or a *ForSequenceClassification folder with its own head).
    return [modelRole(this.config, { name: 'reward', kind: 'reward', head: 'reward', weights: weightsFrom(this.config, this.config.init.from), optimizer: optimizerOf(this.config.trainer) })];
  }

  protected async loop({ session, durable, resumed }: StageContext): Promise<RunSummary> {
    const { config } = this;
    const { trainer } = config;
    const reward = durable.roles.group('reward', 'reward');
    // Driver state a checkpoint holds: the last held-out accuracy, and a dataset's cursor (the task's is the step).
    const saved = resumed?.driver as { heldOutAccuracy?: number; dataCursor?: DatasetCursorState } | undefined;
    // ---- pairs: the task's, or the dataset's (validated and checked to fit before any step; cursor from the checkpoint)
    const tokenizer = createTask(config.task as TaskConfig, tokenizerOf(config.derived.model)).tokenizer;
    const dataset = config.data
      ? await DatasetPairs.open(config.data, { stage: 'reward', seed: config.seed, tokenizer, maxTokens: modelPositions(config.derived.model), cursor: saved?.dataCursor })
      : undefined;
    const heldOutPairs = dataset && (await dataset.evalPairs(trainer.evalPairs));
    const heldOut = Int32Array.from({ length: heldOutPairs?.length ?? trainer.evalPairs }, (_, i) => HELD_OUT_OFFSET + i);
    const dataOffset = config.seed * DATA_STREAM_STRIDE;
    const bar = session.progress('reward model', trainer.steps, config.logging.progress);
    let heldOutAccuracy = saved?.heldOutAccuracy ?? Number.NaN;
    const driverState = () => ({ heldOutAccuracy, ...(dataset ? { dataCursor: dataset.cursor } : {}) });
    for (let step = await durable.start(driverState); step <= trainer.steps && !session.stopRequested; step++) {
      const started = performance.now();
      const indices = Int32Array.from({ length: trainer.batchSize }, (_, i) => dataOffset + (step - 1) * trainer.batchSize + i);
      const pairs = dataset && (await dataset.next(trainer.batchSize));
      const ranks = await reward.callAll('trainPairs', indices, { labelNoise: trainer.labelNoise, ...(trainer.margin > 0 ? { margin: trainer.margin } : {}) }, ...(pairs ? [pairs] : []));
      const record: Record<string, number> = {
        loss: ranks.reduce((sum, rank) => sum + rank.loss, 0),
        accuracy: ranks.reduce((sum, rank) => sum + rank.accuracy, 0),
        gradNorm: ranks[0]!.gradNorm,
      };
      if ((trainer.evalEvery > 0 && step % trainer.evalEvery === 0) || step === trainer.steps) {
        const evaluation = await reward.callRank(0, 'evaluatePairs', heldOut, ...(heldOutPairs ? [heldOutPairs] : []));
        heldOutAccuracy = evaluation.accuracy;
        record.heldOutAccuracy = heldOutAccuracy;
        if (dataset) record.heldOutMargin = evaluation.margin;
      }
      session.recordStep({ step, ...record, phaseSeconds: { train: (performance.now() - started) / 1000 } });
      bar.tick(1, { loss: record.loss!.toFixed(3) });
      await durable.stepDone(step, driverState);
    }
    bar.done();
    await durable.finish(driverState);
    const model = await saveStageModel(reward, session.runDirectory, 'reward', config, { heldOutAccuracy });
    return session.finish({ method: 'reward', steps: trainer.steps, heldOutAccuracy, wallSeconds: session.wallSeconds, model });
  }
}
