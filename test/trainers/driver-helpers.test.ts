/**
 * The driver's small helpers, tested directly: how prompts are split over rollout workers (`splitRows`), which
 * roles share a process (`colocationGroups`), how per-rank statistics become a step's figure (`sumOverRanks`), and
 * the shared minibatch loop's per-rank token shares.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.ts';
import { splitRows } from '../../trainers/evaluation.ts';
import { sumOverRanks } from '../../trainers/rank-stats.ts';
import { colocationGroups } from '../../trainers/role-groups.ts';
import { overMinibatches } from '../../trainers/roles/minibatch-loop.ts';
import type { ExperienceBatch } from '../../rollout/experience.ts';

const rows = (...values: number[]) => Int32Array.from(values);

describe('splitRows', () => {
  it('gives each part a contiguous share, sizes differing by at most one, later parts the larger', () => {
    expect(splitRows(rows(0, 1, 2, 3, 4), 2).map((part) => Array.from(part))).toEqual([[0, 1], [2, 3, 4]]);
    expect(splitRows(rows(0, 1, 2, 3, 4, 5), 3).map((part) => Array.from(part))).toEqual([[0, 1], [2, 3], [4, 5]]);
  });

  it('leaves parts empty when there are fewer rows than parts, and loses no row', () => {
    const parts = splitRows(rows(7, 8), 3);
    expect(parts.map((part) => Array.from(part))).toEqual([[], [7], [8]]);
    expect(splitRows(rows(9), 1).map((part) => Array.from(part))).toEqual([[9]]);
  });
});

describe('colocationGroups', () => {
  const names = ['policy', 'reference', 'reward', 'value', 'rollout'];

  it("'all' is one group, 'none' one group per role", () => {
    expect(colocationGroups(names, 'all')).toEqual([names]);
    expect(colocationGroups(['policy', 'rollout'], 'none')).toEqual([['policy'], ['rollout']]);
  });

  it("keeps the listed groups' roles this trainer has, and gives every unlisted role its own group", () => {
    expect(colocationGroups(['policy', 'reference', 'rollout'], [['policy', 'rollout'], ['value', 'reward']])).toEqual([['policy', 'rollout'], ['reference']]);
  });

  it('rejects a role listed twice and a name that is no role, saying where', () => {
    const issues = (colocate: string[][]) => {
      try {
        colocationGroups(names, colocate);
      } catch (error) {
        if (error instanceof ConfigError) return error.issues;
        throw error;
      }
      return [];
    };
    expect(issues([['policy', 'value'], ['policy']])).toEqual([{ path: 'runtime.colocate.1', message: 'role policy is listed twice' }]);
    expect(issues([['policy', 'critic']])).toEqual([{ path: 'runtime.colocate', message: `unknown role critic; this trainer's roles are ${names.join(', ')}` }]);
  });
});

describe('sumOverRanks', () => {
  it('sums each rank’s share and takes figures every rank computes identically from rank 0', () => {
    const perRank = [
      { loss: 0.25, accuracy: 0.5, gradNorm: 2 },
      { loss: 0.5, accuracy: 0.25, gradNorm: 2.0000001 },
    ];
    expect(sumOverRanks(perRank, ['gradNorm'])).toEqual({ loss: 0.75, accuracy: 0.75, gradNorm: 2 });
  });

  it('ignores fields that are not numbers and is empty for no ranks', () => {
    expect(sumOverRanks([{ loss: 1, note: 'x' } as { loss: number; note: string }])).toEqual({ loss: 1 });
    expect(sumOverRanks([])).toEqual({});
  });
});

describe('overMinibatches', () => {
  /** 4 rows; rows 0 and 1 have 2 action tokens, rows 2 and 3 have 1. */
  const experience = {
    batchSize: 4,
    promptLength: 1,
    responseLength: 2,
    sequences: new Int32Array(12),
    attentionMask: new Int32Array(12),
    actionMask: Float32Array.of(1, 1, 1, 1, 1, 0, 1, 0),
    logProbs: new Float32Array(8),
    weightVersion: 0,
    weightChecksum: '',
  } satisfies ExperienceBatch;
  const plan = { order: Int32Array.of(0, 2, 1, 3), batchSize: 4, epochs: 1, minibatchSize: 4 };

  it("gives each rank its contiguous rows of every minibatch, weighted by its share of the minibatch's tokens", async () => {
    const seen: { rows: number; share: number }[] = [];
    const run = (rank: number) =>
      overMinibatches(experience, plan, { rank, worldSize: 2 }, ['metric'], async (minibatch, share) => {
        seen.push({ rows: minibatch.batchSize, share });
        return { loss: share, gradNorm: 1, metrics: { metric: 2 } };
      });
    const [rank0, rank1] = [await run(0), await run(1)];
    // Rank 0 holds rows 0 and 2 (3 of 6 tokens), rank 1 rows 1 and 3 (3 of 6).
    expect(seen).toEqual([{ rows: 2, share: 0.5 }, { rows: 2, share: 0.5 }]);
    expect(rank0).toEqual({ loss: 0.5, gradNorm: 1, metric: 2 });
    expect(rank1).toEqual({ loss: 0.5, gradNorm: 1, metric: 2 });
  });

  it('averages over the minibatches of every epoch; a metric a step did not report counts as 0', async () => {
    const twoEpochs = { order: Int32Array.of(0, 1, 2, 3, 3, 2, 1, 0), batchSize: 4, epochs: 2, minibatchSize: 2 };
    let call = 0;
    const means = await overMinibatches(experience, twoEpochs, { rank: 0, worldSize: 1 }, ['sometimes'], async () => {
      call += 1;
      const metrics: Record<string, number> = call % 2 === 0 ? { sometimes: 4 } : {};
      return { loss: call, gradNorm: 0, metrics };
    });
    expect(means).toEqual({ loss: 2.5, gradNorm: 0, sometimes: 2 });
  });
});
