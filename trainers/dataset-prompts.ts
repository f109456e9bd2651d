/**
 * Prompts from the user's dataset for the policy stages (GRPO, PPO): the driver reads the file, renders each prompt as
 * the model will see it (conversational prompts through the model's chat template, with the generation prompt)
 * and sends the text and the row's other columns to the rollout workers, whose reward functions read them.
 *
 * The training order is the dataset stream's seeded shuffle; its cursor goes into the checkpoint's driver state,
 * so a resumed run draws exactly the prompts the uninterrupted run would have drawn. Every prompt is checked to
 * fit the prompt slots when the stage starts, before any step runs.
 */
import { loadDataset, type LoadedDataset } from '../data/datasets/load-dataset.ts';
import { DatasetStream, type DatasetCursorState } from '../data/datasets/dataset-cursor.ts';
import { DatasetError } from '../data/datasets/dataset-error.ts';
import type { DataConfig } from '../data/datasets/data-config.ts';
import type { DatasetSplit } from '../data/datasets/dataset-split.ts';
import { renderSample } from '../data/datasets/render-sample.ts';
import type { DatasetSample } from '../data/datasets/sample.ts';
import type { Tokenizer } from '../data/tokenizers/tokenizer.ts';
import { contextColumns } from '../rollout/reward-scores.ts';
import type { RolloutRequest } from '../rollout/rollout-worker.ts';
import { chatTemplateOf } from './dataset-examples.ts';
import { promptSlice, splitRows } from './evaluation.ts';

/** Prompts ready for the rollout workers. */
export interface PromptBatch {
  /** (B) each prompt as the model sees it. */
  prompts: string[];
  /** Every other column of each prompt's row (each (B)), plus `completion` for a prompt-completion dataset. */
  columns: Record<string, unknown[]>;
}

/**
 * @example
 * const source = await DatasetPrompts.open({ train: 'prompts.jsonl', evalFraction: 0.1, ... }, { seed: 0, tokenizer, promptTokens: 48 });
 * const { prompts, columns } = await source.next(16);   // 16 prompts; columns.answer has 16 entries
 * const saved = source.cursor;                           // -> the checkpoint's driver state
 */
export class DatasetPrompts {
  private constructor(
    private readonly data: LoadedDataset,
    private readonly stream: DatasetStream,
    private readonly tokenizer: Tokenizer,
  ) {}

  /**
   * Loads and validates the files (DatasetError, exit 2, on any bad row or on a format `stage` cannot use: pairs
   * given to GRPO or PPO say that it needs prompts), checks every prompt fits, and continues from `cursor`.
   */
  static async open(config: DataConfig, options: { stage?: 'grpo' | 'ppo'; seed: number; tokenizer: Tokenizer; promptTokens: number; cursor?: DatasetCursorState | undefined }): Promise<DatasetPrompts> {
    const data = await loadDataset(config, { stage: options.stage ?? 'grpo', baseDir: process.cwd(), seed: options.seed });
    const prompts = new DatasetPrompts(data, new DatasetStream(data.train, { seed: options.seed, shuffle: config.shuffle }, options.cursor), options.tokenizer);
    for (const split of [data.train, data.eval]) if (split) await prompts.checkFits(split, options.promptTokens);
    return prompts;
  }

  /** Where the training stream is: saved in the checkpoint. */
  get cursor(): DatasetCursorState {
    return this.stream.cursor;
  }

  /** The next `count` training prompts in the seeded order (a new order each epoch). */
  async next(count: number): Promise<PromptBatch> {
    return this.batchOf(this.data.train, await this.stream.next(count));
  }

  /** The first `count` eval prompts in file order (all of them when there are fewer): the same at every evaluation. */
  async evalPrompts(count: number): Promise<PromptBatch> {
    const split = this.data.eval!;
    const positions = Array.from({ length: Math.min(count, split.size) }, (_, index) => index);
    return this.batchOf(split, await split.read(positions));
  }

  private batchOf(split: DatasetSplit, samples: DatasetSample[]): PromptBatch {
    const rendered = samples.map((sample) => renderSample(sample, chatTemplateOf(this.tokenizer), split.source.location(sample.row)));
    const columns = contextColumns(rendered.map((sample) => ({ columns: sample.completion === undefined ? sample.columns : { ...sample.columns, completion: sample.completion } })));
    return { prompts: rendered.map((sample) => sample.prompt!), columns };
  }

  private async checkFits(split: DatasetSplit, promptTokens: number): Promise<void> {
    const samples = await split.read(Array.from({ length: split.size }, (_, index) => index));
    const { prompts } = this.batchOf(split, samples);
    for (const [index, prompt] of prompts.entries()) {
      const tokens = this.tokenizer.encode(prompt, { addSpecialTokens: true }).length;
      if (tokens > promptTokens) {
        throw new DatasetError('DATA_ROW', split.source.location(samples[index]!.row), `column "prompt": ${tokens} tokens, expected at most rollout.promptTokens (${promptTokens}); raise rollout.promptTokens or shorten the prompt`);
      }
    }
  }
}

/**
 * One step's rollout requests, one per worker: contiguous shares of `promptIndices` (whole groups per worker, so a
 * group's samples stay adjacent), each with its share of the dataset's `batch` when the prompts come from files.
 *
 * @example
 * await rollout.scatter('generate', rolloutRequests(promptIndices, rollout.size, { split: 'train', goldAsScores: true }, await dataset.next(16)));
 */
export function rolloutRequests(promptIndices: Int32Array, workers: number, request: Omit<RolloutRequest, 'promptIndices' | 'prompts' | 'columns'>, batch?: PromptBatch): [RolloutRequest][] {
  const positions = splitRows(Int32Array.from(promptIndices.keys()), workers);
  return splitRows(promptIndices, workers).map((indices, part) => [{ ...request, promptIndices: indices, ...(batch ? promptSlice(batch, positions[part]!) : {}) }]);
}
