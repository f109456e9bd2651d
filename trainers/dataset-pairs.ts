/**
 * Preference pairs from the user's dataset for the DPO and reward-model stages: `prompt` / `chosen` / `rejected`
 * (standard or conversational, or the implicit-prompt variant whose shared start is the prompt), rendered as the
 * model sees them. The training order is the dataset stream's seeded shuffle; its cursor goes into the
 * checkpoint's driver state, so a resumed run reads exactly the pairs the uninterrupted run would have read. Held
 * out pairs are the first rows of the eval split. Every pair is checked to fit the model's positions when the
 * stage starts, before any step runs.
 */
import { loadDataset, type LoadedDataset } from '../data/datasets/load-dataset.ts';
import { DatasetStream, type DatasetCursorState } from '../data/datasets/dataset-cursor.ts';
import { DatasetError } from '../data/datasets/dataset-error.ts';
import type { DataConfig } from '../data/datasets/data-config.ts';
import type { DatasetSplit } from '../data/datasets/dataset-split.ts';
import { renderSample, type RenderedSample } from '../data/datasets/render-sample.ts';
import type { DatasetSample } from '../data/datasets/sample.ts';
import type { Tokenizer } from '../data/tokenizers/tokenizer.ts';
import { readDecoderSpec } from '../models/hf/hf-config.ts';
import type { ModelSpec } from '../models/model-spec.ts';
import type { PreferencePair } from '../models/tasks/task.ts';
import { contextColumns } from '../rollout/reward-scores.ts';
import { chatTemplateOf } from './dataset-examples.ts';
import type { PromptBatch } from './dataset-prompts.ts';

/** One labelled pair as the model sees it: `chosen` is the completion the user's label prefers. */
export type TextPair = Pick<PreferencePair, 'prompt' | 'chosen' | 'rejected'>;

/**
 * @example
 * const source = await DatasetPairs.open({ train: 'pairs.jsonl', evalFraction: 0.1, ... }, { stage: 'dpo', seed: 0, tokenizer, maxTokens: 128 });
 * const pairs = await source.next(16);       // [{ prompt, chosen, rejected }, ...] in the seeded order
 * const saved = source.cursor;               // -> the checkpoint's driver state
 */
export class DatasetPairs {
  private constructor(
    private readonly data: LoadedDataset,
    private readonly stream: DatasetStream,
    private readonly tokenizer: Tokenizer,
  ) {}

  /**
   * Loads and validates the files (DatasetError, exit 2, on a bad row or a format the stage cannot use: prompts
   * given to DPO say that it needs pairs), checks that every pair fits `maxTokens`, and continues from `cursor`.
   */
  static async open(config: DataConfig, options: { stage: 'dpo' | 'reward'; seed: number; tokenizer: Tokenizer; maxTokens: number; cursor?: DatasetCursorState | undefined }): Promise<DatasetPairs> {
    const data = await loadDataset(config, { stage: options.stage, baseDir: process.cwd(), seed: options.seed });
    const pairs = new DatasetPairs(data, new DatasetStream(data.train, { seed: options.seed, shuffle: config.shuffle }, options.cursor), options.tokenizer);
    for (const split of [data.train, data.eval]) if (split) await pairs.checkFits(split, options.maxTokens);
    return pairs;
  }

  /** Where the training stream is: saved in the checkpoint. */
  get cursor(): DatasetCursorState {
    return this.stream.cursor;
  }

  /** Whether there is an eval split (an eval file or a held-out fraction). */
  get hasEval(): boolean {
    return this.data.eval !== undefined;
  }

  /** The next `count` training pairs in the seeded order (a new order each epoch). */
  async next(count: number): Promise<TextPair[]> {
    return this.render(this.data.train, await this.stream.next(count)).map(pairOf);
  }

  /** The first `count` eval pairs in file order (all when there are fewer): the same at every evaluation. */
  async evalPairs(count: number): Promise<TextPair[]> {
    return (await this.evalRows(count)).map(pairOf);
  }

  /**
   * The prompts of the first `count` eval pairs with their rows' other columns: what evaluation samples are drawn
   * for. Each must fit `promptTokens` (the rollout's prompt slots): a longer one is a DatasetError with its row.
   */
  async evalPrompts(count: number, promptTokens: number): Promise<PromptBatch> {
    const split = this.data.eval!;
    const rendered = await this.evalRows(count);
    for (const sample of rendered) {
      const tokens = this.tokenizer.encode(sample.prompt!, { addSpecialTokens: true }).length;
      if (tokens > promptTokens) {
        throw new DatasetError('DATA_ROW', split.source.location(sample.row), `column "prompt": ${tokens} tokens, expected at most rollout.promptTokens (${promptTokens}) for the evaluation samples; raise rollout.promptTokens or shorten the prompt`);
      }
    }
    return { prompts: rendered.map((sample) => sample.prompt!), columns: contextColumns(rendered) };
  }

  private async evalRows(count: number): Promise<RenderedSample[]> {
    const split = this.data.eval!;
    return this.render(split, await split.read(Array.from({ length: Math.min(count, split.size) }, (_, index) => index)));
  }

  private render(split: DatasetSplit, samples: DatasetSample[]): RenderedSample[] {
    return samples.map((sample) => renderSample(sample, chatTemplateOf(this.tokenizer), split.source.location(sample.row)));
  }

  /** `prompt completion EOS` of both sides must fit the model's positions (batches.ts builds exactly that). */
  private async checkFits(split: DatasetSplit, maxTokens: number): Promise<void> {
    const samples = await split.read(Array.from({ length: split.size }, (_, index) => index));
    for (const [index, rendered] of this.render(split, samples).entries()) {
      const prompt = this.tokenizer.encode(rendered.prompt!, { addSpecialTokens: true }).length;
      for (const column of ['chosen', 'rejected'] as const) {
        const tokens = prompt + this.tokenizer.encode(rendered[column]!, { addSpecialTokens: false }).length + 1;
        if (tokens > maxTokens) {
          throw new DatasetError('DATA_ROW', split.source.location(samples[index]!.row), `column "${column}": prompt + ${column} + EOS is ${tokens} tokens, expected at most the model's ${maxTokens} positions; shorten the pair`);
        }
      }
    }
  }
}

function pairOf(sample: RenderedSample): TextPair {
  return { prompt: sample.prompt!, chosen: sample.chosen!, rejected: sample.rejected! };
}

/** How many positions the model has: `max_position_embeddings` of a Hugging Face folder, or the GPT's context length. */
export function modelPositions(model: ModelSpec): number {
  return model.kind === 'hf' ? readDecoderSpec(model.directory).maxPositions : model.config.contextLength;
}
