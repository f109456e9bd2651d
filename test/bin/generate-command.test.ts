/**
 * `recipe generate`'s own work, in process: the chat template gets add_generation_prompt and the --template-arg
 * keyword arguments, the model gets the encoded ids, the eos of generation_config.json and the flags, and only
 * the new tokens before eos are printed. The model and tokenizer are recording stubs (the real ones are
 * hf-decoder's loadPretrained and the tokenizers' loadTokenizer, wired in when those land); what is asserted is
 * what the command passes to them and prints, not what they compute.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerGenerateCommand, type ChatTokenizer, type GeneratingModel } from '../../bin/commands/generate.ts';

const GPT2 = join(import.meta.dirname, '../../../shared/fixtures/hf/gpt2'); // generation_config eos_token_id 295

function harness(continuation: number[]) {
  const calls: { template?: unknown[]; generate?: Parameters<GeneratingModel['generate']>[0] } = {};
  const tokenizer: ChatTokenizer = {
    encode: (text) => [...text].map((character) => character.charCodeAt(0)),
    decode: (ids) => String.fromCharCode(...ids),
    applyChatTemplate: (messages, options) => {
      calls.template = [messages, options];
      return `<user>${messages[0]!.content}</user>`;
    },
  };
  const model: GeneratingModel = {
    generate: async (request) => {
      calls.generate = request;
      return request.inputIds.map((row) => [...row, ...continuation]);
    },
  };
  const program = new Command().exitOverride();
  registerGenerateCommand(program, { loadPretrained: async () => model, loadTokenizer: async () => tokenizer });
  const output: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => output.push(String(chunk)) > 0);
  const run = (...args: string[]) => program.parseAsync(['node', 'recipe', 'generate', ...args]);
  return { calls, output, run };
}

afterEach(() => vi.restoreAllMocks());

describe('recipe generate', () => {
  it('prints only the new tokens before eos, passing eos, length and greedy to the model', async () => {
    const { calls, output, run } = harness([72, 105, 295, 33]);
    await run('--model', GPT2, '--prompt', 'ab', '--max-new-tokens', '4', '--greedy');
    expect(calls.generate).toEqual({ inputIds: [[97, 98]], maxNewTokens: 4, greedy: true, eosTokenId: 295 });
    expect(calls.template).toBeUndefined();
    expect(output.join('')).toBe('Hi\n');
  });

  it('renders the prompt as a user turn with the template arguments under --chat', async () => {
    const { calls, output, run } = harness([79, 75]);
    await run('--model', GPT2, '--prompt', 'hi', '--chat', '--template-arg', 'enable_thinking=false', '--template-arg', 'mode=plain');
    expect(calls.template).toEqual([[{ role: 'user', content: 'hi' }], { addGenerationPrompt: true, enable_thinking: false, mode: 'plain' }]);
    expect(calls.generate!.inputIds[0]!.length).toBe('<user>hi</user>'.length);
    expect(calls.generate!.greedy).toBe(false);
    expect(output.join('')).toBe('OK\n');
  });

  it('names the model folder or argument at fault', async () => {
    await expect(harness([]).run('--model', join(GPT2, 'nope'), '--prompt', 'x')).rejects.toThrow(/--model: no model folder at/);
    await expect(harness([]).run('--model', GPT2, '--prompt', 'x', '--template-arg', 'oops')).rejects.toThrow(/"oops" must look like name=value/);
    await expect(harness([]).run('--model', GPT2, '--prompt', 'x', '--max-new-tokens', '0')).rejects.toThrow(/must be a positive integer/);
  });
});
