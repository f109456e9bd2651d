/**
 * A model folder's tensors read once per process while several roles start from it. With `model.from`, every
 * colocated role of a process (policy, reference, value, the rollout worker) builds its model from the same
 * folder; each used to read and decode every safetensors file again. They now share one parsed copy, keyed by the
 * folder and its weight files' sizes and times (a folder saved again is read again).
 *
 * Memory: the tensors are shared, never copied per role (each role copies them once into its own flat
 * parameters, which it needs anyway), and the entry is dropped SHARED_TENSORS_HOLD_MS after the last role read
 * it, so a process does not keep a second copy of the weights for its whole life.
 */
import { readdirSync } from 'node:fs';
import { FolderCache } from '../../runtime/folder-cache.ts';
import { INDEX_FILE, readSafetensorsFolder, type LoadedTensor } from './safetensors.ts';

/** How long (ms) a folder's tensors stay after the last read: the roles of one process start well within it. */
export const SHARED_TENSORS_HOLD_MS = 60_000;

const cache = new FolderCache<Map<string, LoadedTensor>>({ files: weightFiles, holdMs: SHARED_TENSORS_HOLD_MS });

/**
 * `readSafetensorsFolder`, shared within this process while the folder's weight files are unchanged. The map and
 * its arrays are shared by every caller: read them, never write them.
 *
 * @example
 * const tensors = readSharedTensors('./my-model');
 * const policy = HfDecoder.fromTensors(spec, tensors, { head: 'language' });
 * const critic = HfDecoder.fromTensors(spec, readSharedTensors('./my-model'), { head: 'value' }); // not read again
 */
export function readSharedTensors(directory: string): Map<string, LoadedTensor> {
  return cache.get(directory, readSafetensorsFolder);
}

/**
 * Whether `directory`'s tensors are held now (tests).
 *
 * @example
 * readSharedTensors(dir);
 * holdsSharedTensors(dir); // true, until SHARED_TENSORS_HOLD_MS pass without another read
 */
export function holdsSharedTensors(directory: string): boolean {
  return cache.has(directory);
}

/**
 * Drops every folder's tensors now (e.g. once a process's roles are built, or in tests).
 *
 * @example
 * for (const role of roles) role.build(); // each reads through readSharedTensors
 * dropSharedTensors();
 */
export function dropSharedTensors(): void {
  cache.clear();
}

/** The weight files of a folder: model.safetensors, or the index and its shards; none when it is unreadable. */
function weightFiles(directory: string): string[] {
  try {
    return readdirSync(directory).filter((name) => name === INDEX_FILE || /^model.*\.safetensors$/.test(name)).sort();
  } catch {
    return [];
  }
}
