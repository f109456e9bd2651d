/**
 * The frozen base models of this process, loaded once and shared. Under LoRA the policy (adapters on) and the
 * reference (adapters off), and a rollout worker colocated with them, read the same folder: one copy of the
 * weights serves all of them (ARCHITECTURE.md 3b). A role in another process loads its own.
 */
import { resolve } from 'node:path';
import type { HeadKind } from '../gpt.ts';
import { HfDecoder } from '../hf/decoder.ts';
import { readDecoderSpec } from '../hf/hf-config.ts';
import { readSharedTensors } from '../hf/shared-tensors.ts';

const bases = new Map<string, { decoder: HfDecoder; users: number }>();

/** A language head is read from the folder; a value or reward head may be seeded, so the seed is part of the key. */
function keyOf(directory: string, head: HeadKind, seed: number): string {
  return `${resolve(directory)}|${head}${head === 'language' ? '' : `|${seed}`}`;
}

/**
 * The base decoder of `directory` with `head`, loaded on first use; release it with `releaseBase`.
 *
 * @example
 * const base = acquireBase('runs/demo/sft/model', 'language', 0);
 * // ... the policy's LoraModel and the reference both compute with `base`
 * releaseBase(base);
 */
export function acquireBase(directory: string, head: HeadKind, seed: number): HfDecoder {
  const key = keyOf(directory, head, seed);
  let entry = bases.get(key);
  if (!entry) {
    entry = { decoder: HfDecoder.fromTensors(readDecoderSpec(directory), readSharedTensors(directory), { head, seed, source: directory }), users: 0 };
    bases.set(key, entry);
  }
  entry.users += 1;
  return entry.decoder;
}

/** Drops one user of `decoder`; the last one frees its tensors and forgets it. */
export function releaseBase(decoder: HfDecoder): void {
  for (const [key, entry] of bases) {
    if (entry.decoder !== decoder) continue;
    entry.users -= 1;
    if (entry.users <= 0) {
      bases.delete(key);
      decoder.dispose();
    }
    return;
  }
}

/** How many bases this process holds (for tests: one per folder and head, however many roles use it). */
export function sharedBaseCount(): number {
  return bases.size;
}
