/**
 * A stage's output model: rank 0's weights (every data-parallel rank holds the same) written as a model file in
 * the run directory, with the config hash that lets `recipe run` reuse it.
 */
import { saveModelFile } from '../models/model-file.ts';
import { configHash } from './config-hash.ts';
import type { RoleGroup } from './role-groups.ts';

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
  const exported = await (group as RoleGroup<'policy'>).callRank(0, 'exportModel');
  saveModelFile(directory, 'model', { ...exported, metadata: { stage, configHash: configHash(config), task: config.task, ...metadata } });
  return `${directory}/model`;
}
