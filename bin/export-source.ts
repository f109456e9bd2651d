/**
 * What `recipe export` was pointed at, resolved to the Hugging Face folder to re-write:
 *
 *   a Hugging Face folder (config.json)                  that folder
 *   a stage directory (runs/<recipe>/<stage>)            its model/ folder
 *   a recipe's run directory (runs/<recipe>)             the stage named by --stage, else its last trained
 *                                                        policy stage (grpo, dpo, ppo, then sft; reward last)
 *
 * A stage whose model is posttrain's own bench-S file (model.json + model.bin) is refused with what can and
 * cannot be exported; every refusal is a ConfigError naming the argument (exit 2).
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../runtime/errors.ts';
import { STAGES } from '../trainers/recipe.ts';

/** The order in which a recipe's stages are tried when --stage is not given: the final policy first. */
const EXPORT_PREFERENCE = ['grpo', 'dpo', 'ppo', 'sft', 'reward'] as const satisfies readonly (typeof STAGES)[number][];

/** The HF folder to export and the stage it came from, if any. */
export interface ExportSource {
  folder: string;
  stage: string | undefined;
  /** A LoRA stage's PEFT adapter folder (`<stage>/adapter`, beside the merged `model/`). */
  adapter?: string;
}

/** Why a bench-S stage model cannot become a Hugging Face checkpoint. */
export const BENCH_S_NOT_EXPORTABLE =
  "is posttrain's own bench-S model file (model.json + model.bin), not a Hugging Face folder, and no transformers " +
  'architecture computes what it computes: its body would map onto GPT2 (learned positions, LayerNorm, exact-erf GELU, ' +
  'i.e. activation_function "gelu"), but its untied output head has a bias (head.bias), which GPT2LMHeadModel\'s ' +
  'lm_head and GPT2ForSequenceClassification\'s score do not have, so transformers would give different logits. ' +
  'Exportable: a Hugging Face folder, or a stage trained from one (model.from = a folder or hf:Org/Name), whose ' +
  'model/ is a Hugging Face folder';

/**
 * The Hugging Face folder behind an export target.
 *
 * @example
 * resolveExportSource('runs/demo', undefined); // { folder: '/…/runs/demo/ppo/model', stage: 'ppo' }
 */
export function resolveExportSource(argument: string, stage: string | undefined): ExportSource {
  const target = resolve(argument);
  if (!existsSync(target) || !statSync(target).isDirectory()) {
    throw new ConfigError([{ path: 'target', message: `no directory at ${target}: give a recipe's run directory (runs/<name>), a stage directory or a Hugging Face model folder` }]);
  }
  if (stage !== undefined) {
    if (!(STAGES as readonly string[]).includes(stage)) {
      throw new ConfigError([{ path: '--stage', message: `"${stage}" is not a stage; stages: ${STAGES.join(', ')}` }]);
    }
    if (!existsSync(join(target, stage))) throw new ConfigError([{ path: '--stage', message: `${target} has no ${stage} stage directory` }]);
    return stageSource(join(target, stage), stage);
  }
  if (existsSync(join(target, 'config.json'))) return { folder: target, stage: undefined };
  if (hasStageModel(target)) return stageSource(target, undefined);
  const found = EXPORT_PREFERENCE.find((name) => hasStageModel(join(target, name)));
  if (found === undefined) {
    throw new ConfigError([{ path: 'target', message: `${target} holds no model to export: no config.json, no model/ folder, and no stage directory (${STAGES.join(', ')}) with one` }]);
  }
  return stageSource(join(target, found), found);
}

function hasStageModel(directory: string): boolean {
  return existsSync(join(directory, 'model', 'config.json')) || existsSync(join(directory, 'model.json'));
}

function stageSource(directory: string, stage: string | undefined): ExportSource {
  if (existsSync(join(directory, 'model', 'config.json'))) {
    const adapter = join(directory, 'adapter');
    return { folder: join(directory, 'model'), stage, ...(existsSync(join(adapter, 'adapter_config.json')) ? { adapter } : {}) };
  }
  if (existsSync(join(directory, 'model.json'))) {
    throw new ConfigError([{ path: 'target', message: `${join(directory, 'model.json')} ${BENCH_S_NOT_EXPORTABLE}` }]);
  }
  throw new ConfigError([{ path: 'target', message: `${directory} has no model yet (no model/config.json): run the stage first` }]);
}
