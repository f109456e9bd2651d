/**
 * What `save` hands to writeHfFolder is what transformers wrote: the same tensor names, shapes and values as the
 * fixture's own safetensors, and the same config.json; written out and loaded again, the model's logits are
 * identical, and `save` in the checkpoint's dtype writes config.json and model.safetensors byte for byte as
 * transformers did.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained } from '../../../models/hf/pretrained.ts';
import { readSafetensorsFolder } from '../../../models/hf/safetensors.ts';
import { useBackend } from '../backends.ts';
import { FIXTURES } from './hf-fixtures.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hf-export-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeAll(() => useBackend('wasm'));

describe('exporting a loaded checkpoint', () => {
  for (const fixture of ['gpt2', 'llama-gqa-llama3rope', 'llama-tied', 'qwen2', 'qwen3', 'qwen2-bf16', 'llama-sharded', 'llama-reward']) {
    it(`${fixture}: tensors and config equal the files transformers wrote; a reload computes the same logits`, async () => {
      const directory = join(FIXTURES, fixture);
      const model = await loadPretrained(directory);
      const original = readSafetensorsFolder(directory);
      const exported = model.hfTensors();
      expect(exported.map(([name]) => name)).toEqual([...original.keys()].sort());
      for (const [name, tensor] of exported) {
        expect(tensor.shape, name).toEqual(original.get(name)!.shape);
        expect(Buffer.from(tensor.data.buffer).equals(Buffer.from(original.get(name)!.data.buffer)), name).toBe(true);
      }
      const raw = JSON.parse(readFileSync(join(directory, 'config.json'), 'utf8'));
      expect(model.hfConfig(raw.torch_dtype)).toEqual(raw);

      // save() in the checkpoint's own dtype writes the very files transformers wrote.
      const copy = join(scratch, fixture);
      await model.save(copy, { dtype: raw.torch_dtype });
      expect(readFileSync(join(copy, 'config.json'), 'utf8')).toBe(readFileSync(join(directory, 'config.json'), 'utf8'));
      if (fixture !== 'llama-sharded') expect(readFileSync(join(copy, 'model.safetensors')).equals(readFileSync(join(directory, 'model.safetensors')))).toBe(true);
      const reloaded = await loadPretrained(copy);
      const inputIds = [[3, 4, 5, 6, 7]];
      const [a, b] = [await model.forward({ inputIds }), await reloaded.forward({ inputIds })];
      expect(await b.logits.array()).toEqual(await a.logits.array());
      a.logits.dispose();
      b.logits.dispose();
      model.dispose();
      reloaded.dispose();
    });
  }

  it('a value head on a causal LM is saved as *ForSequenceClassification with one label and score.weight [1, D]', async () => {
    const model = await loadPretrained(join(FIXTURES, 'llama-tied'), { head: 'value' });
    expect(model.hfConfig()).toMatchObject({ architectures: ['LlamaForSequenceClassification'], id2label: { 0: 'LABEL_0' } });
    const score = model.hfTensors().find(([name]) => name === 'score.weight')!;
    expect(score[1].shape).toEqual([1, 48]);
    model.dispose();
  });
});
