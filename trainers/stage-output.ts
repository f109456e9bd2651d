/**
 * A stage's output model: rank 0's weights (every data-parallel rank holds the same) written to the run
 * directory as `model`, with the config hash that lets `recipe run` reuse it.
 *
 * Two formats, by what the stage started from: a Hugging Face folder `model/` (config.json, model.safetensors,
 * generation config and tokenizer files, loadable by transformers; posttrain's own record in `posttrain.json`)
 * when the stage's model came from one, else posttrain's model file `model.json` + `model.bin` (the GPT).
 *
 * A LoRA stage's `model/` is the merged model (base + adapters, what later stages and transformers load), and
 * `adapter/` beside it holds the adapters in PEFT's format (adapter_config.json, adapter_model.safetensors).
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasTokenizerFiles, writeHfFolder } from '../models/hf/hf-folder.ts';
import { modelFileExists, readModelHeader, saveModelFile } from '../models/model-file.ts';
import type { ExportedModel } from '../models/model-spec.ts';
import { writePeftFolder } from '../models/lora/peft-folder.ts';
import { configHash } from './config-hash.ts';
import type { RoleGroup } from './role-groups.ts';

/** posttrain's record inside a Hugging Face output folder (transformers ignores unknown files). */
const RECORD_FILE = 'posttrain.json';
/** A LoRA stage's PEFT adapter folder, beside `model/`. */
export const ADAPTER_FOLDER = 'adapter';

/**
 * @example
 * const path = await saveStageModel(policy, session.runDirectory, 'ppo', config);   // `<run>/model`
 */
export async function saveStageModel(
  group: RoleGroup<'policy'> | RoleGroup<'reward'> | RoleGroup<'value'>,
  directory: string,
  stage: string,
  config: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
): Promise<string> {
  const exported = (await (group as RoleGroup<'policy'>).callRank(0, 'exportModel')) as ExportedModel;
  const record = { stage, configHash: configHash(config), task: config.task, ...metadata };
  if (exported.format === 'posttrain') {
    saveModelFile(directory, 'model', { ...exported, metadata: record });
  } else {
    const folder = join(directory, 'model');
    writeHfFolder(folder, { config: exported.config, tensors: exported.tensors, tokenizerFrom: exported.source && hasTokenizerFiles(exported.source) ? exported.source : undefined });
    writeFileSync(join(folder, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
  }
  // An adapter folder from an earlier LoRA run of this stage would no longer match model/.
  rmSync(join(directory, ADAPTER_FOLDER), { recursive: true, force: true });
  if (exported.format === 'hf' && exported.adapter) writePeftFolder(join(directory, ADAPTER_FOLDER), exported.adapter);
  return `${directory}/model`;
}

/** Whether `directory` holds a finished stage's model (either format). */
export function stageModelExists(directory: string): boolean {
  return existsSync(join(directory, 'model', RECORD_FILE)) || modelFileExists(directory, 'model');
}

/** The record saved with a stage's model (stage, configHash, task, ...). */
export function stageModelRecord(directory: string): Record<string, unknown> {
  const hfRecord = join(directory, 'model', RECORD_FILE);
  if (existsSync(hfRecord)) return JSON.parse(readFileSync(hfRecord, 'utf8')) as Record<string, unknown>;
  return readModelHeader(directory, 'model').metadata;
}

/** When a stage's model was last written (ms since the epoch). */
export function stageModelWrittenAt(directory: string): number {
  const hfRecord = join(directory, 'model', RECORD_FILE);
  return statSync(existsSync(hfRecord) ? hfRecord : join(directory, 'model.bin')).mtimeMs;
}
