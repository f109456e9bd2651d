/**
 * PEFT's adapter folder: `adapter_config.json` (LoraConfig's fields) and `adapter_model.safetensors` with PEFT's
 * tensor names, `base_model.model.<module>.lora_A.weight` (r, in) and `...lora_B.weight` (out, r), plus a
 * classifier's head as `base_model.model.score.weight` (modules_to_save, saved under the module's own name).
 * `PeftModel.from_pretrained(base, folder)` loads what `writePeftFolder` writes; `readPeftFolder` and
 * `applyPeftAdapter` read such a folder back onto a base model, and `mergePeftFolder` merges one onto its base.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../runtime/errors.ts';
import type { HeadKind } from '../gpt.ts';
import { HfDecoder } from '../hf/decoder.ts';
import { parseHfConfig } from '../hf/hf-config.ts';
import { readHfConfig, readJsonFile } from '../hf/hf-folder.ts';
import { pythonJson } from '../hf/python-json.ts';
import { readSafetensorsFile, readSafetensorsFolder, type SafetensorsDtype, writeSafetensorsFile } from '../hf/safetensors.ts';
import { transposeInto } from '../hf/weight-map.ts';
import { HEAD_WEIGHT, type LoraAdapter } from './lora-adapter.ts';
import { ALL_LORA_TARGET_MODULES, type LoraOptions, type LoraTargetModule } from './lora-config.ts';
import { LoraModel } from './lora-model.ts';
import { mergeAdapter } from './merge.ts';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** What PeftModel prefixes its state-dict names with. */
const PREFIX = 'base_model.model.';

/** A PEFT adapter as files: the config and the tensors, named and shaped as PEFT saves them. */
export interface PeftAdapterFiles {
  /** adapter_config.json's content. */
  config: Record<string, unknown>;
  /** PEFT's names -> (r, in) A, (out, r) B, (labels, D) score; sorted by name. */
  tensors: [string, { shape: number[]; data: Float32Array }][];
}

/**
 * The adapter of `adapter` (trained on `base`) in PEFT's format.
 * @param baseModel `base_model_name_or_path`: the folder the base was loaded from
 *
 * @example
 * writePeftFolder('runs/demo/sft/adapter', peftAdapterFiles(policy.base, policy.adapter!, 'runs/base-model'));
 */
export function peftAdapterFiles(base: HfDecoder, adapter: LoraAdapter, baseModel: string): PeftAdapterFiles {
  const { rank, alpha, dropout } = adapter.options;
  const classifier = base.head !== 'language';
  const config = {
    peft_type: 'LORA',
    task_type: classifier ? 'SEQ_CLS' : 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    revision: null,
    auto_mapping: null,
    inference_mode: true,
    r: rank,
    lora_alpha: alpha,
    lora_dropout: dropout,
    target_modules: [...new Set(adapter.targets.map((target) => target.module.slice(target.module.lastIndexOf('.') + 1)))].sort(),
    fan_in_fan_out: base.spec.family === 'gpt2',
    bias: 'none',
    modules_to_save: classifier ? ['score'] : null,
    init_lora_weights: true,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_rslora: false,
    use_dora: false,
  };
  const tensors: PeftAdapterFiles['tensors'] = [];
  const transposed = (name: string, rows: number, columns: number) => {
    const data = new Float32Array(rows * columns);
    transposeInto(adapter.parameters.view(name), rows, columns, data);
    return { shape: [columns, rows], data };
  };
  for (const target of adapter.targets) {
    tensors.push([`${PREFIX}${target.module}.lora_A.weight`, transposed(`${target.module}.lora_A.weight`, target.inFeatures, rank)]);
    tensors.push([`${PREFIX}${target.module}.lora_B.weight`, transposed(`${target.module}.lora_B.weight`, rank, target.outFeatures)]);
  }
  if (classifier) {
    const [hidden, labels] = adapter.parameters.entry(HEAD_WEIGHT).shape as [number, number];
    tensors.push([`${PREFIX}${HEAD_WEIGHT}`, transposed(HEAD_WEIGHT, hidden, labels)]);
  }
  tensors.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { config, tensors };
}

/** Writes `adapter_config.json` and `adapter_model.safetensors` (float32) into `directory`. */
export function writePeftFolder(directory: string, files: PeftAdapterFiles): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, ADAPTER_CONFIG_FILE), pythonJson(files.config));
  writeSafetensorsFile(join(directory, ADAPTER_WEIGHTS_FILE), files.tensors, 'F32', { format: 'pt' });
}

/** Whether `directory` holds a PEFT adapter (adapter_config.json). */
export function isPeftFolder(directory: string): boolean {
  return existsSync(join(directory, ADAPTER_CONFIG_FILE));
}

/**
 * A PEFT LoRA folder's settings and tensors; errors name the file and field.
 *
 * @example
 * const { options, baseModel } = readPeftFolder('runs/demo/sft/adapter');
 */
export function readPeftFolder(directory: string): { options: LoraOptions; baseModel: string | undefined; config: Record<string, unknown>; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const configPath = join(directory, ADAPTER_CONFIG_FILE);
  if (!existsSync(configPath)) throw new ConfigError([{ path: configPath, message: 'does not exist; a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors' }]);
  const config = readJsonFile(configPath);
  const problems: { path: string; message: string }[] = [];
  const field = (name: string) => `${configPath}: ${name}`;
  if (config.peft_type !== 'LORA') problems.push({ path: field('peft_type'), message: `is ${JSON.stringify(config.peft_type)}; only LORA adapters are supported` });
  if (!Number.isInteger(config.r) || (config.r as number) < 1) problems.push({ path: field('r'), message: `is ${JSON.stringify(config.r)}; expected a positive integer` });
  if (typeof config.lora_alpha !== 'number' || config.lora_alpha <= 0) problems.push({ path: field('lora_alpha'), message: `is ${JSON.stringify(config.lora_alpha)}; expected a positive number` });
  const modules = config.target_modules;
  if (!Array.isArray(modules) || modules.some((name) => !(ALL_LORA_TARGET_MODULES as readonly unknown[]).includes(name))) {
    problems.push({ path: field('target_modules'), message: `is ${JSON.stringify(modules)}; expected a list of ${ALL_LORA_TARGET_MODULES.join(', ')}` });
  }
  for (const [name, allowed] of [['bias', 'none'], ['use_dora', false], ['use_rslora', false]] as const) {
    if (config[name] !== undefined && config[name] !== allowed) problems.push({ path: field(name), message: `is ${JSON.stringify(config[name])}; only ${JSON.stringify(allowed)} is supported` });
  }
  for (const name of ['rank_pattern', 'alpha_pattern'] as const) {
    if (config[name] && Object.keys(config[name] as object).length > 0) problems.push({ path: field(name), message: 'per-layer ranks and alphas are not supported; expected {}' });
  }
  const weightsPath = join(directory, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(weightsPath)) problems.push({ path: weightsPath, message: 'does not exist (adapter_model.bin, the pickle format, is not read)' });
  if (problems.length > 0) throw new ConfigError(problems);
  const options: LoraOptions = {
    rank: config.r as number,
    alpha: config.lora_alpha as number,
    dropout: typeof config.lora_dropout === 'number' ? config.lora_dropout : 0,
    targetModules: modules as LoraTargetModule[],
  };
  const baseModel = typeof config.base_model_name_or_path === 'string' ? config.base_model_name_or_path : undefined;
  return { options, baseModel, config, tensors: readSafetensorsFile(weightsPath) };
}

/**
 * `base` with the adapter of a PEFT folder applied (the base is not copied; the returned model does not release it).
 *
 * @example
 * const tuned = applyPeftAdapter(base, 'runs/demo/sft/adapter');
 * const logits = tuned.logits(batch); // what the merged model computes
 */
export function applyPeftAdapter(base: HfDecoder, directory: string): LoraModel {
  const { options, tensors } = readPeftFolder(directory);
  const model = new LoraModel(base, options, 0, { shared: false });
  const adapter = model.adapter!;
  const weightsPath = join(directory, ADAPTER_WEIGHTS_FILE);
  const problems: { path: string; message: string }[] = [];
  const expected = new Set<string>();
  for (const entry of adapter.parameters.manifest.entries) {
    const name = `${PREFIX}${entry.name}`;
    expected.add(name);
    const tensor = tensors.get(name);
    const [rows, columns] = entry.shape as [number, number];
    if (!tensor) {
      problems.push({ path: `${weightsPath}: ${name}`, message: `is missing; expected shape [${columns}, ${rows}] for ${base.spec.architecture}` });
      continue;
    }
    if (tensor.shape.length !== 2 || tensor.shape[0] !== columns || tensor.shape[1] !== rows) {
      problems.push({ path: `${weightsPath}: ${name}`, message: `has shape [${tensor.shape}]; expected [${columns}, ${rows}]` });
      continue;
    }
    transposeInto(tensor.data, columns, rows, adapter.parameters.view(entry.name));
  }
  for (const name of tensors.keys()) if (!expected.has(name)) problems.push({ path: `${weightsPath}: ${name}`, message: `is not a tensor of this adapter on ${base.spec.architecture} (wrong base model or target_modules?)` });
  if (problems.length > 0) throw new ConfigError(problems);
  model.refresh();
  return model;
}

/**
 * A PEFT folder merged onto its base (`baseDirectory`, default the folder's `base_model_name_or_path`): the
 * merged decoder, and the base folder it came from (for its tokenizer files). Errors name the field or folder.
 *
 * @example
 * const { merged, baseDirectory } = mergePeftFolder('runs/demo/sft/adapter');
 * new PretrainedModel(merged).save('out/merged', { tokenizerFrom: baseDirectory });
 */
export function mergePeftFolder(adapterDirectory: string, baseDirectory?: string): { merged: HfDecoder; baseDirectory: string } {
  const { config, baseModel } = readPeftFolder(adapterDirectory);
  const directory = baseDirectory ?? baseModel;
  if (directory === undefined || !existsSync(join(directory, 'config.json'))) {
    throw new ConfigError([
      {
        path: `${join(adapterDirectory, ADAPTER_CONFIG_FILE)}: base_model_name_or_path`,
        message: `is ${JSON.stringify(baseModel ?? null)}, not a local Hugging Face model folder (config.json); merging needs the base model's weights there`,
      },
    ]);
  }
  const spec = parseHfConfig(readHfConfig(directory), join(directory, 'config.json'));
  // A SEQ_CLS adapter carries its trained head; the base provides the trunk (and a placeholder head it replaces).
  const head: HeadKind = config.task_type === 'SEQ_CLS' ? (spec.task === 'sequence-classification' ? 'reward' : 'value') : 'language';
  const base = HfDecoder.fromTensors(spec, readSafetensorsFolder(directory), { head, source: directory });
  const model = applyPeftAdapter(base, adapterDirectory);
  const merged = mergeAdapter(base, model.adapter!);
  model.dispose();
  base.dispose();
  return { merged, baseDirectory: directory };
}

/**
 * Re-writes the PEFT folder `from` into `to` with its tensors stored as `dtype` (adapter_config.json unchanged).
 *
 * @example
 * copyPeftFolder('runs/demo/sft/adapter', 'out/adapter', 'BF16');
 */
export function copyPeftFolder(from: string, to: string, dtype: SafetensorsDtype): { tensors: number } {
  const { config, tensors } = readPeftFolder(from);
  mkdirSync(to, { recursive: true });
  writeFileSync(join(to, ADAPTER_CONFIG_FILE), pythonJson(config));
  const sorted = [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  writeSafetensorsFile(join(to, ADAPTER_WEIGHTS_FILE), sorted, dtype, { format: 'pt' });
  return { tensors: sorted.length };
}
