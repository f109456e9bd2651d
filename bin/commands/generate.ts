import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { readHfConfig, readJsonFile } from '../../models/hf/hf-folder.ts';
import { resolveModelSource } from '../../models/hf/hub.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { asModelInputError } from '../model-errors.ts';
import { collect } from '../options.ts';

/** What `recipe generate` needs from a loaded model (`loadPretrained` in models/hf/pretrained.ts). */
export interface GeneratingModel {
  /** Returns the full sequences, as transformers' generate does: each input row followed by its new tokens. */
  generate(request: { inputIds: number[][]; maxNewTokens: number; greedy: boolean; eosTokenId?: number | number[] }): Promise<number[][]>;
}

/** What it needs from a tokenizer (`loadTokenizer` in data/tokenizers/). */
export interface ChatTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  applyChatTemplate(messages: { role: string; content: string }[], options: { addGenerationPrompt: boolean; [name: string]: unknown }): string;
}

/** The loaders, passed in so that this command does not fix where they live. */
export interface GenerateDependencies {
  loadPretrained(dir: string): Promise<GeneratingModel>;
  loadTokenizer(dir: string): Promise<ChatTokenizer>;
}

interface GenerateOptions {
  model: string;
  prompt: string;
  chat?: boolean;
  templateArg: string[];
  maxNewTokens: number;
  greedy?: boolean;
}

/**
 * `recipe generate --model DIR|hf:Org/Name --prompt "..." [--chat] [--template-arg k=v] [--max-new-tokens N]
 * [--greedy]`: one continuation of a prompt, printed to stdout. With --chat the prompt is a user message rendered
 * by the model's chat template (add_generation_prompt true; --template-arg passes keyword arguments such as
 * enable_thinking=false). Generation stops at the eos ids of generation_config.json (else config.json).
 *
 * @example
 * registerGenerateCommand(program, { loadPretrained, loadTokenizer });
 * // recipe generate --model hf:Qwen/Qwen3-0.6B --prompt "2+2=" --chat --template-arg enable_thinking=false --greedy
 */
export function registerGenerateCommand(program: Command, dependencies: GenerateDependencies): void {
  program
    .command('generate')
    .description('continue a prompt with a Hugging Face model (optionally through its chat template)')
    .requiredOption('--model <model>', 'a Hugging Face model folder, or hf:Org/Name[@revision]')
    .requiredOption('--prompt <text>', 'the prompt (with --chat: the user message)')
    .option('--chat', "render the prompt as a user turn with the model's chat template")
    .option('--template-arg <name=value>', 'a keyword argument for the chat template, e.g. enable_thinking=false (repeatable)', collect, [])
    .option('--max-new-tokens <n>', 'at most this many new tokens', positiveInteger, 64)
    .option('--greedy', 'pick the most likely token at every step instead of sampling')
    .action(async (options: GenerateOptions) => {
      process.stdout.write(`${await generateText(options, dependencies)}\n`);
    });
}

async function generateText(options: GenerateOptions, dependencies: GenerateDependencies): Promise<string> {
  const templateArgs = Object.fromEntries(options.templateArg.map(parseTemplateArg));
  let directory: string;
  let eosTokenId: number | number[] | undefined;
  try {
    ({ directory } = await resolveModelSource(options.model));
    eosTokenId = eosTokenIds(directory);
  } catch (error) {
    throw asModelInputError(error, '--model');
  }
  const tokenizer = await dependencies.loadTokenizer(directory);
  const text = options.chat
    ? tokenizer.applyChatTemplate([{ role: 'user', content: options.prompt }], { addGenerationPrompt: true, ...templateArgs })
    : options.prompt;
  const inputIds = tokenizer.encode(text);
  const model = await dependencies.loadPretrained(directory);
  const [sequence] = await model.generate({ inputIds: [inputIds], maxNewTokens: options.maxNewTokens, greedy: options.greedy === true, ...(eosTokenId === undefined ? {} : { eosTokenId }) });
  const newTokens = sequence!.slice(inputIds.length);
  const stops = new Set([eosTokenId ?? []].flat());
  const end = newTokens.findIndex((id) => stops.has(id));
  return tokenizer.decode(end === -1 ? newTokens : newTokens.slice(0, end));
}

/** generation_config.json's eos_token_id (a number or a list), else config.json's. */
function eosTokenIds(directory: string): number | number[] | undefined {
  const generationPath = join(directory, 'generation_config.json');
  const fromGeneration = existsSync(generationPath) ? readJsonFile(generationPath).eos_token_id : undefined;
  const eos = fromGeneration ?? readHfConfig(directory).eos_token_id;
  return typeof eos === 'number' || Array.isArray(eos) ? (eos as number | number[]) : undefined;
}

/** `name=value`; the value is read as JSON when it is JSON (true, 3, "x"), else kept as text. */
function parseTemplateArg(argument: string): [string, unknown] {
  const match = /^([A-Za-z_]\w*)=(.*)$/s.exec(argument);
  if (!match) throw new ConfigError([{ path: '--template-arg', message: `"${argument}" must look like name=value, e.g. enable_thinking=false` }]);
  try {
    return [match[1]!, JSON.parse(match[2]!)];
  } catch {
    return [match[1]!, match[2]!];
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('must be a positive integer');
  return number;
}
