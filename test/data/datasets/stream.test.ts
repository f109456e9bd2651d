/**
 * Seeded order and exact resume: epoch e's order is a function of (seed, e) only; a stream rebuilt from its
 * saved cursor returns what the uninterrupted stream returns, across epoch boundaries; the held-out eval split
 * is seeded, disjoint from train and covers the file.
 */
import { describe, expect, it } from 'vitest';
import { DatasetStream, loadDataset, type DatasetSample } from '../../../data/datasets/index.ts';
import { tempDir, writeJsonl, writeParquet } from './files.ts';

const rows = Array.from({ length: 10 }, (_, index) => ({ prompt: `q${index}`, answer: index }));
const answers = (samples: DatasetSample[]) => samples.map((sample) => sample.columns.answer);

describe('DatasetStream', () => {
  const dir = tempDir();
  writeJsonl(dir, 'prompts.jsonl', rows);
  const load = (seed = 3) => loadDataset({ train: 'prompts.jsonl' }, { stage: 'grpo', baseDir: dir, seed });

  it('visits every sample once per epoch, in an order fixed by seed and epoch', async () => {
    const { train } = await load();
    const first = new DatasetStream(train, { seed: 3 });
    const epochZero = answers(await first.next(10));
    const epochOne = answers(await first.next(10));
    expect([...epochZero].sort()).toEqual(rows.map((row) => row.answer));
    expect([...epochOne].sort()).toEqual(rows.map((row) => row.answer));
    expect(epochOne).not.toEqual(epochZero);
    expect(answers(await new DatasetStream(train, { seed: 3 }).next(20))).toEqual([...epochZero, ...epochOne]);
    expect(answers(await new DatasetStream(train, { seed: 4 }).next(10))).not.toEqual(epochZero);
    expect(answers(await new DatasetStream(train, { seed: 3, shuffle: false }).next(10))).toEqual(rows.map((row) => row.answer));
  });

  it('resumed from a JSON round-tripped cursor == uninterrupted, across an epoch boundary', async () => {
    const { train } = await load();
    const uninterrupted = new DatasetStream(train, { seed: 3 });
    const expected = answers(await uninterrupted.next(27));
    const interrupted = new DatasetStream(train, { seed: 3 });
    const before = answers(await interrupted.next(8));
    const saved = JSON.parse(JSON.stringify(interrupted.cursor));
    expect(saved).toEqual({ epoch: 0, position: 8 });
    const resumed = new DatasetStream(train, { seed: 3 }, saved);
    expect([...before, ...answers(await resumed.next(19))]).toEqual(expected);
    expect(resumed.cursor).toEqual({ epoch: 2, position: 7 });
  });

  it('refuses a cursor that does not fit the split', async () => {
    const { train } = await load();
    expect(() => new DatasetStream(train, { seed: 3 }, { epoch: 0, position: 11 })).toThrow(/position <= 10/);
    expect(() => new DatasetStream(train, { seed: 3 }, { epoch: -1, position: 0 })).toThrow(/non-negative integers/);
  });
});

describe('DatasetStream over Parquet row groups', () => {
  it('shuffles row groups, then rows within each, so each group is decoded once an epoch; resume is still exact', async () => {
    const dir = tempDir();
    writeParquet(dir, 'prompts.parquet', rows, 3); // groups: rows 0-2, 3-5, 6-8, 9
    const { train } = await loadDataset({ train: 'prompts.parquet' }, { stage: 'grpo', baseDir: dir, seed: 0 });
    const stream = new DatasetStream(train, { seed: 5 });
    const epoch = answers(await stream.next(10)) as number[];
    expect([...epoch].sort((a, b) => a - b)).toEqual(rows.map((row) => row.answer));
    const groupsInOrder = epoch.map((answer) => Math.floor(answer / 3));
    const groupChanges = groupsInOrder.filter((group, index) => index > 0 && group !== groupsInOrder[index - 1]).length;
    expect(groupChanges).toBe(3);
    const expected = answers(await new DatasetStream(train, { seed: 5 }).next(25));
    const first = new DatasetStream(train, { seed: 5 });
    const head = answers(await first.next(13));
    expect([...head, ...answers(await new DatasetStream(train, { seed: 5 }, first.cursor).next(12))]).toEqual(expected);
  });
});

describe('eval split', () => {
  it('a held-out fraction is seeded, disjoint from train and covers the file', async () => {
    const dir = tempDir();
    writeParquet(dir, 'prompts.parquet', rows, 4);
    const data = await loadDataset({ train: 'prompts.parquet', evalFraction: 0.3 }, { stage: 'grpo', baseDir: dir, seed: 1 });
    const trainRows = Array.from(data.train.rows);
    const evalRows = Array.from(data.eval!.rows);
    expect(evalRows).toHaveLength(3);
    expect([...trainRows, ...evalRows].sort((a, b) => a - b)).toEqual(rows.map((_, index) => index));
    const again = await loadDataset({ train: 'prompts.parquet', evalFraction: 0.3 }, { stage: 'grpo', baseDir: dir, seed: 1 });
    expect(Array.from(again.eval!.rows)).toEqual(evalRows);
    const other = await loadDataset({ train: 'prompts.parquet', evalFraction: 0.3 }, { stage: 'grpo', baseDir: dir, seed: 2 });
    expect(Array.from(other.eval!.rows)).not.toEqual(evalRows);
    expect(answers(await data.eval!.read([0, 1, 2]))).toEqual(evalRows);
  });

  it('an eval file is validated too and read whole', async () => {
    const dir = tempDir();
    writeJsonl(dir, 'train.jsonl', rows);
    writeJsonl(dir, 'eval.jsonl', [{ prompt: 'e0', answer: 100 }, { prompt: 'e1' }]);
    const data = await loadDataset({ train: 'train.jsonl', eval: 'eval.jsonl' }, { stage: 'ppo', baseDir: dir, seed: 0 });
    expect(data.train.size).toBe(10);
    expect((await data.eval!.read([1, 0])).map((sample) => sample.prompt)).toEqual(['e1', 'e0']);
    writeJsonl(dir, 'bad-eval.jsonl', [{ prompt: 'e0' }, { prompt: '' }]);
    await expect(loadDataset({ train: 'train.jsonl', eval: 'bad-eval.jsonl' }, { stage: 'ppo', baseDir: dir, seed: 0 })).rejects.toThrow(
      'bad-eval.jsonl:2: column "prompt": found an empty string',
    );
  });
});
