/**
 * Conversational samples -> the strings a model trains on, through the model's chat template; standard samples
 * pass through. This follows TRL's `maybe_extract_prompt` + `maybe_apply_chat_template`: a prompt is rendered
 * with the generation prompt, and a completion (chosen, rejected) is the rendering of prompt + completion with
 * the rendered prompt cut off the front, so prompt + completion is exactly what the template gives the whole
 * conversation. An implicit prompt is the longest common prefix of chosen and rejected.
 *
 * The real template is data/tokenizers' `loadTokenizer(...)`, whose `applyChatTemplate(messages, options)` has
 * this shape; tests use a stub.
 */
import { DatasetError } from './dataset-error.ts';
import type { DatasetKind } from './dataset-format.ts';
import type { DatasetSample, Message, Turns } from './sample.ts';

/** The one thing rendering needs from a tokenizer (data/tokenizers' tokenizer satisfies it). */
export interface ChatTemplate {
  /** Renders messages as text; `addGenerationPrompt` appends the assistant turn's opening. Other keys are template kwargs. */
  applyChatTemplate(messages: readonly Message[], options: { addGenerationPrompt?: boolean; [kwarg: string]: unknown }): string;
}

/** A sample as strings: what the trainers tokenize. Fields as in DatasetSample. */
export interface RenderedSample {
  /** Row index in its file. */
  row: number;
  /** The dataset's kind; an implicit-prompt preference becomes `preference` once its prompt is extracted. */
  kind: DatasetKind;
  text?: string;
  prompt?: string;
  completion?: string;
  chosen?: string;
  rejected?: string;
  /** Every other column, unchanged. */
  columns: Record<string, unknown>;
}

/**
 * @example
 * renderSample({ row: 0, kind: 'prompt-completion', prompt: [{ role: 'user', content: '2+3?' }],
 *   completion: [{ role: 'assistant', content: '5' }], columns: {} }, tokenizer, 'train.jsonl:1');
 * // { prompt: '<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n', completion: '5<|im_end|>\n', ... }
 */
export function renderSample(sample: DatasetSample, template: ChatTemplate | undefined, where: string, templateOptions: Record<string, unknown> = {}): RenderedSample {
  const withPrompt = sample.kind === 'implicit-prompt-preference' ? extractPrompt(sample, where) : sample;
  const rendered: RenderedSample = { row: sample.row, kind: withPrompt.kind, columns: sample.columns };
  const render = (messages: readonly Message[], options: { addGenerationPrompt: boolean; continueFinalMessage?: boolean }): string => {
    if (template === undefined) throw new DatasetError('DATA_FORMAT', where, 'found a conversational sample (message lists), but the model has no chat template to render it; give a tokenizer with a chat template or standard (string) columns');
    return template.applyChatTemplate(messages, { ...templateOptions, ...options });
  };
  if (withPrompt.text !== undefined) rendered.text = typeof withPrompt.text === 'string' ? withPrompt.text : render(withPrompt.text, { addGenerationPrompt: false });
  if (withPrompt.prompt === undefined) return rendered;
  const prompt = withPrompt.prompt;
  if (typeof prompt === 'string') {
    rendered.prompt = prompt;
    for (const column of ['completion', 'chosen', 'rejected'] as const) if (typeof withPrompt[column] === 'string') rendered[column] = withPrompt[column] as string;
    return rendered;
  }
  // A prompt that ends on an assistant turn is continued, not answered (TRL's continue_final_message).
  const endsWithAssistant = prompt.at(-1)?.role === 'assistant';
  rendered.prompt = render(prompt, endsWithAssistant ? { addGenerationPrompt: false, continueFinalMessage: true } : { addGenerationPrompt: true });
  for (const column of ['completion', 'chosen', 'rejected'] as const) {
    const completion = withPrompt[column];
    if (completion === undefined) continue;
    const whole = render([...prompt, ...(completion as Message[])], { addGenerationPrompt: false });
    if (!whole.startsWith(rendered.prompt)) {
      throw new DatasetError('DATA_FORMAT', where, `column "${column}": the chat template renders prompt + ${column} with a different start than the prompt alone, so the ${column} cannot be cut out; use standard (string) columns with this template`);
    }
    rendered[column] = whole.slice(rendered.prompt.length);
  }
  return rendered;
}

/**
 * TRL's `extract_prompt`: the shared start of chosen and rejected becomes the prompt. For strings, a space at
 * the split stays with the completions; for message lists, the split is at the first differing message.
 */
export function extractPrompt(sample: DatasetSample, where: string): DatasetSample {
  const extracted = splitSharedStart(sample);
  for (const column of ['chosen', 'rejected'] as const) {
    if ((extracted[column] as Turns).length === 0) {
      throw new DatasetError('DATA_ROW', where, `column "${column}": nothing is left after the prompt shared with the other column, expected chosen and rejected to differ in their ends`);
    }
  }
  return extracted;
}

function splitSharedStart(sample: DatasetSample): DatasetSample {
  const chosen = sample.chosen as Turns;
  const rejected = sample.rejected as Turns;
  if (typeof chosen === 'string' && typeof rejected === 'string') {
    let split = 0;
    while (split < chosen.length && split < rejected.length && chosen[split] === rejected[split]) split++;
    if (split > 0 && chosen[split - 1] === ' ') split--;
    return { ...sample, kind: 'preference', prompt: chosen.slice(0, split), chosen: chosen.slice(split), rejected: rejected.slice(split) };
  }
  const chosenMessages = chosen as Message[];
  const rejectedMessages = rejected as Message[];
  let split = 0;
  while (split < chosenMessages.length && split < rejectedMessages.length && sameMessage(chosenMessages[split]!, rejectedMessages[split]!)) split++;
  return { ...sample, kind: 'preference', prompt: chosenMessages.slice(0, split), chosen: chosenMessages.slice(split), rejected: rejectedMessages.slice(split) };
}

function sameMessage(first: Message, second: Message): boolean {
  return first.role === second.role && first.content === second.content;
}
