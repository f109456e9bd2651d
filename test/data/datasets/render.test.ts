/**
 * Conversational samples are rendered through the model's chat template (a stub here with ChatML's layout; the
 * real one is data/tokenizers' tokenizer): prompt + completion == the template's rendering of the whole
 * conversation, and an implicit prompt is the shared start of chosen and rejected.
 */
import { describe, expect, it } from 'vitest';
import { renderSample, type ChatTemplate, type DatasetSample } from '../../../data/datasets/index.ts';

const chatml: ChatTemplate = {
  applyChatTemplate(messages, options) {
    const body = messages.map((message) => `<|im_start|>${message.role}\n${message.content}<|im_end|>\n`).join('');
    if (options.continueFinalMessage === true) return body.slice(0, -'<|im_end|>\n'.length);
    return options.addGenerationPrompt === true ? `${body}<|im_start|>assistant\n` : body;
  },
};
const user = (content: string) => ({ role: 'user' as const, content });
const assistant = (content: string) => ({ role: 'assistant' as const, content });

describe('renderSample', () => {
  it('standard samples pass through unchanged, other columns kept', () => {
    const sample: DatasetSample = { row: 4, kind: 'prompt-completion', prompt: '2+3=', completion: ' 5', columns: { answer: 5 } };
    expect(renderSample(sample, undefined, 'x')).toEqual({ row: 4, kind: 'prompt-completion', prompt: '2+3=', completion: ' 5', columns: { answer: 5 } });
  });

  it('a conversational prompt gets the generation prompt; the completion is the rest of the whole rendering', () => {
    const sample: DatasetSample = { row: 0, kind: 'prompt-completion', prompt: [user('2+3?')], completion: [assistant('5')], columns: {} };
    const rendered = renderSample(sample, chatml, 'x');
    expect(rendered.prompt).toBe('<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n');
    expect(rendered.completion).toBe('5<|im_end|>\n');
    expect(rendered.prompt! + rendered.completion!).toBe(chatml.applyChatTemplate([user('2+3?'), assistant('5')], {}));
  });

  it('language modelling renders the whole conversation without a generation prompt', () => {
    const rendered = renderSample({ row: 0, kind: 'language-modeling', text: [user('hi'), assistant('yo')], columns: {} }, chatml, 'x');
    expect(rendered.text).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n');
  });

  it('an implicit prompt is the shared start (strings keep the space with the completion)', () => {
    const rendered = renderSample({ row: 0, kind: 'implicit-prompt-preference', chosen: 'The sky is blue.', rejected: 'The sky is green.', columns: {} }, undefined, 'x');
    expect(rendered).toMatchObject({ kind: 'preference', prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' });
  });

  it('an implicit conversational prompt is the shared messages', () => {
    const sample: DatasetSample = { row: 0, kind: 'implicit-prompt-preference', chosen: [user('Sky?'), assistant('Blue.')], rejected: [user('Sky?'), assistant('Green.')], columns: {} };
    const rendered = renderSample(sample, chatml, 'x');
    expect(rendered).toMatchObject({ kind: 'preference', prompt: '<|im_start|>user\nSky?<|im_end|>\n<|im_start|>assistant\n', chosen: 'Blue.<|im_end|>\n', rejected: 'Green.<|im_end|>\n' });
  });

  it('identical chosen and rejected leave nothing to prefer: an error at the row', () => {
    expect(() => renderSample({ row: 2, kind: 'implicit-prompt-preference', chosen: 'same', rejected: 'same', columns: {} }, undefined, 'pairs.jsonl:3')).toThrow(
      'pairs.jsonl:3: column "chosen": nothing is left after the prompt',
    );
  });

  it('a conversational sample without a chat template says what to do', () => {
    expect(() => renderSample({ row: 0, kind: 'prompt-only', prompt: [user('hi')], columns: {} }, undefined, 'p.jsonl:1')).toThrow(/no chat template/);
  });
});
