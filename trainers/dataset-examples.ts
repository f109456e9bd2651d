/**
 * Demonstrations from the user's dataset for SFT: prompt-completion rows (the loss on the completion) or
 * language-modelling rows (the loss on the whole text), rendered through the model's chat template when
 * conversational. The training order is the dataset stream's seeded shuffle, and its cursor goes into the
 * checkpoint's driver state (exact resume); held-out examples are the first rows of the eval split.
 */
import { loadDataset, type LoadedDataset } from '../data/datasets/load-dataset.ts';
import { DatasetStream, type DatasetCursorState } from '../data/datasets/dataset-cursor.ts';
import type { DataConfig } from '../data/datasets/data-config.ts';
import type { DatasetSplit } from '../data/datasets/dataset-split.ts';
import { renderSample, type ChatTemplate } from '../data/datasets/render-sample.ts';
import type { DatasetSample } from '../data/datasets/sample.ts';
import type { Tokenizer } from '../data/tokenizers/tokenizer.ts';
import type { SftExample } from '../models/tasks/index.ts';

/**
 * @example
 * const source = await DatasetExamples.open({ train: 'sft.jsonl', evalFraction: 0.1, ... }, { seed: 0, tokenizer });
 * const examples = await source.next(32);   // [{ prompt, completion }, ...]
 */
export class DatasetExamples {
  private constructor(
    private readonly data: LoadedDataset,
    private readonly stream: DatasetStream,
    private readonly template: ChatTemplate | undefined,
  ) {}

  /** Loads and validates the files (DatasetError, exit 2, on a bad row or a format SFT cannot use); continues from `cursor`. */
  static async open(config: DataConfig, options: { seed: number; tokenizer: Tokenizer; cursor?: DatasetCursorState | undefined }): Promise<DatasetExamples> {
    const data = await loadDataset(config, { stage: 'sft', baseDir: process.cwd(), seed: options.seed });
    return new DatasetExamples(data, new DatasetStream(data.train, { seed: options.seed, shuffle: config.shuffle }, options.cursor), chatTemplateOf(options.tokenizer));
  }

  /** Where the training stream is: saved in the checkpoint. */
  get cursor(): DatasetCursorState {
    return this.stream.cursor;
  }

  /** The next `count` training examples in the seeded order. */
  async next(count: number): Promise<SftExample[]> {
    return this.examplesOf(this.data.train, await this.stream.next(count));
  }

  /** The first `count` eval examples in file order (all when there are fewer): the same at every evaluation. */
  async heldOut(count: number): Promise<SftExample[]> {
    const split = this.data.eval!;
    return this.examplesOf(split, await split.read(Array.from({ length: Math.min(count, split.size) }, (_, index) => index)));
  }

  private examplesOf(split: DatasetSplit, samples: DatasetSample[]): SftExample[] {
    return samples.map((sample) => {
      const rendered = renderSample(sample, this.template, split.source.location(sample.row));
      // Language modelling: no prompt, the loss covers the whole text.
      return rendered.text !== undefined ? { prompt: '', completion: rendered.text } : { prompt: rendered.prompt!, completion: rendered.completion! };
    });
  }
}

/** The tokenizer's chat template, when it has one (Hugging Face tokenizers with a template; not the character tokenizer). */
export function chatTemplateOf(tokenizer: Tokenizer): ChatTemplate | undefined {
  const candidate = tokenizer as Partial<ChatTemplate> & { hasChatTemplate?: boolean };
  return typeof candidate.applyChatTemplate === 'function' && candidate.hasChatTemplate !== false ? (tokenizer as unknown as ChatTemplate) : undefined;
}
