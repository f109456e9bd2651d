import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { hasTokenizerFiles, readHfFolder, SAFETENSORS_DTYPE, writeHfFolder, type HfDtype } from '../../models/hf/hf-folder.ts';
import { PretrainedModel } from '../../models/hf/pretrained.ts';
import { ADAPTER_CONFIG_FILE, copyPeftFolder, isPeftFolder, mergePeftFolder, readPeftFolder } from '../../models/lora/peft-folder.ts';
import { ConfigError } from '../../runtime/errors.ts';
import { resolveExportSource } from '../export-source.ts';
import { asModelInputError } from '../model-errors.ts';

/**
 * `recipe export <run | stage | HF folder | PEFT adapter folder> --out DIR [--dtype bfloat16|float16|float32]
 * [--stage NAME] [--merge-lora]`: writes the model as a Hugging Face folder (config.json, safetensors,
 * generation_config.json, tokenizer files) that transformers' from_pretrained loads unchanged, stored in the chosen
 * dtype (default: the dtype it is stored in).
 *
 * LoRA: a LoRA stage exports its PEFT adapter folder (adapter_config.json, adapter_model.safetensors: what
 * `PeftModel.from_pretrained(base, DIR)` loads); `--merge-lora` exports the merged model instead (the stage's
 * model/). A PEFT adapter folder given directly is copied, or with `--merge-lora` merged onto its base
 * (`base_model_name_or_path`, a local folder). `--merge-lora` on a model without adapters exports it as is.
 */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a run\'s, stage\'s or folder\'s model as a Hugging Face folder (a LoRA stage: its PEFT adapter, or with --merge-lora the merged model)')
    .argument('<target>', 'a recipe\'s run directory (runs/<name>: its last policy stage), a stage directory (runs/<name>/<stage>), a Hugging Face model folder or a PEFT adapter folder')
    .requiredOption('--out <dir>', 'the folder to write (created; an existing one must be empty or an earlier export)')
    .option('--dtype <dtype>', 'how weights are stored: float32 | bfloat16 | float16 (default: as stored now)', dtypeOption)
    .option('--stage <name>', 'which stage of a run directory to export')
    .option('--merge-lora', 'write the merged model (base + LoRA adapters) instead of the PEFT adapter folder')
    .action(async (argument: string, options: { out: string; dtype?: HfDtype; stage?: string; mergeLora?: boolean }) => {
      const out = resolve(options.out);
      const target = resolve(argument);
      if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'config.json')) && !existsSync(join(out, ADAPTER_CONFIG_FILE))) {
        throw new ConfigError([{ path: '--out', message: `${out} is not empty and holds no earlier export (no config.json or adapter_config.json); give a new or empty folder` }]);
      }
      try {
        if (isPeftFolder(target) && options.stage === undefined) {
          if (options.mergeLora) mergeAdapterFolder(target, out, options.dtype, target);
          else exportAdapter(target, out, options.dtype, target);
          return;
        }
        const source = resolveExportSource(argument, options.stage);
        const from = source.stage ? `stage ${source.stage} (${source.folder})` : source.folder;
        if (source.adapter && !options.mergeLora) {
          exportAdapter(source.adapter, out, options.dtype, `the LoRA adapter of ${source.stage ? `stage ${source.stage}` : source.folder} (${source.adapter})`);
          return;
        }
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
        const note = options.mergeLora ? (source.adapter ? ' (merged: base + LoRA adapters)' : ' (no LoRA adapter: --merge-lora had nothing to merge)') : '';
        process.stdout.write(`exported ${from}${note} to ${out} as ${dtype}: ${folder.tensors.size} tensors${folder.tokenizerFiles.length > 0 ? `, tokenizer (${folder.tokenizerFiles.join(', ')})` : ', no tokenizer files'}\n`);
      } catch (error) {
        throw asModelInputError(error, 'target');
      }
    });
}

/** Copies a PEFT adapter folder to `out` (tensors in `dtype`, default float32). */
function exportAdapter(adapter: string, out: string, dtype: HfDtype | undefined, what: string): void {
  const chosen = dtype ?? 'float32';
  const { tensors } = copyPeftFolder(adapter, out, SAFETENSORS_DTYPE[chosen]);
  const { baseModel } = readPeftFolder(adapter);
  process.stdout.write(`exported ${what} to ${out} as ${chosen}: PEFT LoRA adapter, ${tensors} tensors, base ${baseModel ?? '(not recorded)'}; --merge-lora writes the merged model instead\n`);
}

/** Merges a PEFT adapter folder onto its base and writes the merged Hugging Face folder. */
function mergeAdapterFolder(adapter: string, out: string, dtype: HfDtype | undefined, what: string): void {
  const { merged, baseDirectory } = mergePeftFolder(adapter);
  const chosen = dtype ?? 'float32';
  const pretrained = new PretrainedModel(merged);
  writeHfFolder(out, { config: pretrained.hfConfig(chosen), tensors: pretrained.hfTensors(), dtype: chosen, ...(hasTokenizerFiles(baseDirectory) ? { tokenizerFrom: baseDirectory } : {}) });
  merged.dispose();
  process.stdout.write(`exported ${what} merged onto ${baseDirectory} to ${out} as ${chosen}\n`);
}

function dtypeOption(value: string): HfDtype {
  if (!(value in SAFETENSORS_DTYPE)) throw new InvalidArgumentError(`must be one of ${Object.keys(SAFETENSORS_DTYPE).join(', ')}`);
  return value as HfDtype;
}
