import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { readHfFolder, SAFETENSORS_DTYPE, writeHfFolder, type HfDtype } from '../../models/hf/hf-folder.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { resolveExportSource } from '../export-source.ts';
import { asModelInputError } from '../model-errors.ts';

/**
 * `recipe export <run | stage | HF folder> --out DIR [--dtype bfloat16|float16|float32] [--stage NAME]`: writes
 * the model as a Hugging Face folder (config.json, safetensors, generation_config.json, tokenizer files) that
 * transformers' from_pretrained loads unchanged, stored in the chosen dtype (default: the dtype it is stored in).
 */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a run\'s, stage\'s or folder\'s model as a Hugging Face folder, optionally in bfloat16 or float16')
    .argument('<target>', 'a recipe\'s run directory (runs/<name>: its last policy stage), a stage directory (runs/<name>/<stage>) or a Hugging Face model folder')
    .requiredOption('--out <dir>', 'the folder to write (created; an existing one must be empty or an earlier export)')
    .option('--dtype <dtype>', 'how weights are stored: float32 | bfloat16 | float16 (default: as stored now)', dtypeOption)
    .option('--stage <name>', 'which stage of a run directory to export')
    .action(async (argument: string, options: { out: string; dtype?: HfDtype; stage?: string }) => {
      const source = resolveExportSource(argument, options.stage);
      const out = resolve(options.out);
      if (out !== source.folder && existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'config.json'))) {
        throw new ConfigError([{ path: '--out', message: `${out} is not empty and holds no earlier export (no config.json); give a new or empty folder` }]);
      }
      try {
        const folder = readHfFolder(source.folder);
        const stored = folder.config.torch_dtype as string;
        const dtype = options.dtype ?? (stored in SAFETENSORS_DTYPE ? (stored as HfDtype) : 'float32');
        writeHfFolder(out, {
          config: folder.config,
          tensors: [...folder.tensors],
          dtype,
          ...(folder.generationConfig ? { generationConfig: folder.generationConfig } : {}),
          ...(folder.tokenizerFiles.length > 0 ? { tokenizerFrom: source.folder } : {}),
        });
        const from = source.stage ? `stage ${source.stage} (${source.folder})` : source.folder;
        process.stdout.write(`exported ${from} to ${out} as ${dtype}: ${folder.tensors.size} tensors${folder.tokenizerFiles.length > 0 ? `, tokenizer (${folder.tokenizerFiles.join(', ')})` : ', no tokenizer files'}\n`);
      } catch (error) {
        throw asModelInputError(error, 'target');
      }
    });
}

function dtypeOption(value: string): HfDtype {
  if (!(value in SAFETENSORS_DTYPE)) throw new InvalidArgumentError(`must be one of ${Object.keys(SAFETENSORS_DTYPE).join(', ')}`);
  return value as HfDtype;
}
