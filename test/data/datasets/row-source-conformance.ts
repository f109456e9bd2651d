/**
 * What every RowSource (JSONL, Parquet) must do: the same rows in and out, by range and by shuffled indices,
 * every TRL format recognised the same way, and the other columns carried with each sample.
 */
import { describe, expect, it } from 'vitest';
import { DatasetSplit, validateDataset, type RowSource } from '../../../data/datasets/index.ts';
import { tempDir } from './files.ts';
import { TRL_FORMAT_CASES } from './trl-formats.ts';

export function rowSourceConformance(name: string, write: (dir: string, file: string, rows: Record<string, unknown>[]) => string, open: (path: string) => Promise<RowSource>): void {
  describe(`${name} row source`, () => {
    it('reads back every row by range and by shuffled indices', async () => {
      const rows = Array.from({ length: 7 }, (_, index) => ({ prompt: `p${index}`, answer: index * 10 }));
      const source = await open(write(tempDir(), 'rows', rows));
      expect(source.length).toBe(7);
      expect(source.columns).toEqual(['prompt', 'answer']);
      expect(await source.readRange(0, 100)).toEqual(rows);
      expect(await source.readRange(3, 2)).toEqual(rows.slice(3, 5));
      expect(await source.read([6, 0, 3, 3])).toEqual([rows[6], rows[0], rows[3], rows[3]]);
    });

    for (const formatCase of TRL_FORMAT_CASES) {
      it(`recognises ${formatCase.name} and carries the other columns`, async () => {
        const source = await open(write(tempDir(), 'rows', formatCase.rows));
        const { format, rows } = await validateDataset(source);
        expect(format).toEqual(formatCase.format);
        expect(rows).toBe(3);
        const split = new DatasetSplit(source, format, {}, Int32Array.from([0, 1, 2]));
        const [sample] = await split.read([1]);
        expect(sample!.row).toBe(1);
        const original = formatCase.rows[1]!;
        if ('answer' in original) expect(sample!.columns).toEqual({ answer: original.answer });
        else expect(sample!.columns).toEqual({});
        for (const column of ['prompt', 'completion', 'chosen', 'rejected', 'text'] as const) {
          if (column in original) expect(sample![column]).toEqual(original[column]);
        }
        if ('messages' in original) expect(sample!.text).toEqual(original.messages);
      });
    }
  });
}
