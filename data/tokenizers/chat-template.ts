/**
 * A chat template: the Jinja program in `tokenizer_config.json`'s `chat_template` (or `chat_template.jinja`)
 * rendered with `@huggingface/jinja`, with the variables transformers' `apply_chat_template` passes: `messages`,
 * `add_generation_prompt`, `tools` and `documents` when given, the special tokens (`bos_token`, `eos_token`, ...) and
 * every extra keyword argument (`enable_thinking` for Qwen3). `raise_exception` and `strftime_now` come with the
 * library, as in transformers.
 */
import { Template } from '@huggingface/jinja';
import { PosttrainError } from '../../runtime/errors.ts';
import type { SpecialTokensMap } from './special-tokens.ts';

/** One chat message, as chat templates read it. */
export interface ChatMessage {
  /** `system`, `user`, `assistant`, `tool`, ... */
  role: string;
  /** The message text (some templates also accept a list of parts). */
  content: unknown;
  /** Anything else a template reads (`tool_calls`, `reasoning_content`, ...). */
  [key: string]: unknown;
}

/** Options of `applyChatTemplate`; keys other than these are passed to the template as they are. */
export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, so that the model writes the reply (default false). */
  addGenerationPrompt?: boolean;
  /** Return ids (`encode(text, { addSpecialTokens: false })`, as transformers does) instead of text (default false). */
  tokenize?: boolean;
  /** Tool definitions, for templates that render them. */
  tools?: unknown[];
  /** Documents, for retrieval templates. */
  documents?: unknown[];
  /** Which template of a folder that has several named ones (default: the one named `default`). */
  chatTemplateName?: string;
  /** Extra template variables, e.g. `enable_thinking: false`. */
  [kwarg: string]: unknown;
}

/** Where a template came from, for error messages. */
export interface ChatTemplateSource {
  /** The template text. */
  text: string;
  /** The file (and key) it was read from, e.g. `/models/qwen3/tokenizer_config.json (chat_template)`. */
  file: string;
}

/**
 * A parsed chat template bound to a tokenizer's special tokens.
 *
 * @example
 * const template = new ChatTemplate({ text: '{% for m in messages %}{{ m.content }}{% endfor %}', file: 'inline' }, {});
 * template.render([{ role: 'user', content: 'hi' }]);   // 'hi'
 */
export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: ChatTemplateSource,
    private readonly specialTokens: SpecialTokensMap,
  ) {
    try {
      this.template = new Template(source.text);
    } catch (error) {
      throw new PosttrainError('CHAT_TEMPLATE_INVALID', `the chat template in ${source.file} does not parse: ${(error as Error).message}`, {
        path: source.file,
        cause: error,
      });
    }
  }

  /** The rendered text of `messages`. */
  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    const { addGenerationPrompt = false, tokenize: _tokenize, chatTemplateName: _name, tools, documents, ...kwargs } = options;
    const variables: Record<string, unknown> = {
      ...this.specialTokens,
      messages,
      add_generation_prompt: addGenerationPrompt,
      ...(tools === undefined ? {} : { tools }),
      ...(documents === undefined ? {} : { documents }),
      ...kwargs,
    };
    try {
      return this.template.render(variables);
    } catch (error) {
      throw new PosttrainError('CHAT_TEMPLATE_FAILED', `the chat template in ${this.source.file} failed: ${(error as Error).message}`, {
        path: this.source.file,
        cause: error,
      });
    }
  }
}
