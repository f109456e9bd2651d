/**
 * `hf:` models named by a recipe are downloaded (or found in the cache) before the recipe is validated: config
 * parsing is synchronous and reads each model's config.json from disk.
 */
import { resolveModelSource } from '../models/hf/hub.ts';

/** Every `model.from` of the recipe and its stages that names the hub, fetched into the Hugging Face cache. */
export async function downloadHubModels(recipe: unknown): Promise<void> {
  for (const from of hubSources(recipe)) await resolveModelSource(from);
}

function hubSources(recipe: unknown): string[] {
  const sources = new Set<string>();
  const visit = (section: unknown) => {
    const from = (section as { model?: { from?: unknown } } | undefined)?.model?.from;
    if (typeof from === 'string' && from.startsWith('hf:')) sources.add(from);
  };
  visit(recipe);
  for (const stage of Object.values((recipe as { stages?: Record<string, unknown> } | undefined)?.stages ?? {})) visit(stage);
  return [...sources];
}
