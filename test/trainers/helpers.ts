/** Shared set-up for trainer tests: tiny models, random-weight model files, a scratch runs directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, type GPTConfig } from '../../models/index.ts';
import type { HeadKind } from '../../models/gpt.ts';
import { saveModelFile } from '../../models/model-file.ts';
import { createTask, type TaskConfig } from '../../models/tasks/index.ts';

/** A model small enough that a trainer test runs in seconds. */
export const TINY_MODEL = { dModel: 32, nHeads: 2, nLayers: 1, contextLength: 64 } as const;

export function scratchDirectory(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `posttrain-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes freshly initialised model files (one per head) for `task` and returns their paths. */
export function randomModelFiles(directory: string, task: TaskConfig, model: Omit<GPTConfig, 'vocabSize'> = TINY_MODEL, heads: HeadKind[] = ['language', 'reward']): Record<HeadKind, string> {
  const config = { ...model, vocabSize: createTask(task).tokenizer.vocabSize };
  const paths = {} as Record<HeadKind, string>;
  heads.forEach((head, index) => {
    const gpt = new GPT(config, { head, seed: 100 + index });
    saveModelFile(directory, `random-${head}`, { config, head, manifest: gpt.parameters.manifest, weights: gpt.parameters.data });
    paths[head] = join(directory, `random-${head}`);
  });
  return paths;
}

/** Common logging for tests: quiet, no progress bars, runs under `directory`. */
export function testLogging(directory: string) {
  return { runsDirectory: directory, level: 'silent' as const, progress: false };
}
