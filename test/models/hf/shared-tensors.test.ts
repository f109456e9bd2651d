/**
 * Roles of one process that start from the same Hugging Face folder share one read of its tensors: the same
 * parsed map while the files are unchanged, a fresh read once they are rewritten, nothing held after the hold
 * time or a drop, and the shared tensors are never written by the roles built from them.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createModel } from '../../../models/model-spec.ts';
import { readSafetensorsFolder } from '../../../models/hf/safetensors.ts';
import { dropSharedTensors, holdsSharedTensors, readSharedTensors, SHARED_TENSORS_HOLD_MS } from '../../../models/hf/shared-tensors.ts';
import { writeHfFolder, readHfFolder } from '../../../models/hf/hf-folder.ts';
import { FIXTURES } from './hf-fixtures.ts';

const scratch = mkdtempSync(join(tmpdir(), 'shared-tensors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  dropSharedTensors();
  vi.useRealTimers();
});

describe('readSharedTensors', () => {
  it('gives every colocated role the same parsed tensors, which none of them writes', () => {
    const folder = join(FIXTURES, 'qwen2');
    const spec = { kind: 'hf' as const, directory: folder };
    const policy = createModel(spec, 'language', 0);
    const shared = readSharedTensors(folder);
    const reference = createModel(spec, 'language', 0);
    const value = createModel(spec, 'value', 1);
    expect(readSharedTensors(folder)).toBe(shared);
    expect(reference.parameters.data).toEqual(policy.parameters.data);
    expect(value.parameters.data).not.toBe(policy.parameters.data);
    // Roles copy out of the shared map: changing a role's weights leaves the map equal to the file.
    policy.parameters.data.fill(0);
    const fromFile = readSafetensorsFolder(folder);
    for (const [name, tensor] of fromFile) expect(shared.get(name)!.data).toEqual(tensor.data);
  });

  it('reads a folder again once its weights are rewritten', () => {
    const folder = join(scratch, 'rewritten');
    cpSync(join(FIXTURES, 'llama-tied'), folder, { recursive: true });
    const before = readSharedTensors(folder);
    const { config, tensors } = readHfFolder(folder);
    const changed = [...tensors].map(([name, tensor]): [string, { shape: number[]; data: Float32Array }] => [name, { shape: tensor.shape, data: tensor.data.map((x) => x + 1) }]);
    writeHfFolder(folder, { config, tensors: changed });
    const after = readSharedTensors(folder);
    expect(after).not.toBe(before);
    expect(after.get('model.norm.weight')!.data[0]).toBeCloseTo(before.get('model.norm.weight')!.data[0]! + 1, 5);
  });

  it('drops a folder SHARED_TENSORS_HOLD_MS after its last read, or at once on dropSharedTensors', () => {
    vi.useFakeTimers();
    const folder = join(FIXTURES, 'qwen2');
    readSharedTensors(folder);
    vi.advanceTimersByTime(SHARED_TENSORS_HOLD_MS - 1);
    readSharedTensors(folder); // a later role restarts the hold
    vi.advanceTimersByTime(SHARED_TENSORS_HOLD_MS - 1);
    expect(holdsSharedTensors(folder)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(holdsSharedTensors(folder)).toBe(false);
    readSharedTensors(folder);
    dropSharedTensors();
    expect(holdsSharedTensors(folder)).toBe(false);
  });

  it('caches nothing for a folder that cannot be read, and names it', () => {
    const folder = join(scratch, 'empty');
    cpSync(join(FIXTURES, 'qwen2', 'config.json'), join(folder, 'config.json'));
    expect(() => readSharedTensors(folder)).toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json/);
    expect(holdsSharedTensors(folder)).toBe(false);
  });
});
