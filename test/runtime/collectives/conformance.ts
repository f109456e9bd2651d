import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { segmentBounds, type CollectiveBackendName, type ReduceOp } from '../../../runtime/collectives/index.ts';
import type { Member, MemberPool } from './members.ts';

/**
 * The one conformance suite every collective backend runs (hono's `common.case.test.ts` pattern): call it with a
 * pool of members (in-process ranks, forked processes, processes in network namespaces) and it registers the tests.
 * Values are multiples of 1/4 in [-16, 16], so sums over a few ranks are exact in float32 and every backend must
 * match the serial reference bit for bit, whatever order it reduces in.
 */
export function collectiveConformance(createPool: () => MemberPool | Promise<MemberPool>): { readonly pool: MemberPool } {
  let pool: MemberPool;
  let used: Member[] = [];

  beforeAll(async () => {
    pool = await createPool();
  });
  afterEach(async () => {
    await Promise.all(used.filter((member) => member.alive).map((member) => member.destroy().catch(() => {})));
    used = [];
  });
  afterAll(async () => {
    await pool?.close();
  });

  async function form(members: Member[], options: { timeoutMs?: number } = {}): Promise<Member[]> {
    used.push(...members);
    return formGroup(pool.backend, members, options);
  }

  async function group(worldSize: number, options: { timeoutMs?: number } = {}): Promise<Member[]> {
    return form(await pool.take(worldSize), options);
  }

  describe('reductions', () => {
    for (const worldSize of [2, 3]) {
      it(`allreduce sum, mean, max and min equal the serial reduction over ${worldSize} ranks for 0, 1, 7, 1000 elements`, async () => {
        const members = await group(worldSize);
        for (const length of [0, 1, 7, 1000]) {
          for (const op of ['sum', 'mean', 'max', 'min'] as const) {
            const inputs = members.map((_, rank) => values(length, 31 * rank + length));
            const results = await Promise.all(members.map((member, rank) => member.allreduce(inputs[rank]!.slice(), { op })));
            const expected = serialReduce(inputs, op);
            for (const [rank, result] of results.entries()) {
              expect(result, `rank ${rank}, ${op}, ${length} elements`).toEqual(expected);
            }
          }
        }
      });
    }

    it('reduceScatter returns each rank its segment of the reduction, for lengths not divisible by the world size', async () => {
      const members = await group(3);
      for (const length of [0, 2, 10, 1000]) {
        for (const op of ['sum', 'max'] as const) {
          const inputs = members.map((_, rank) => values(length, 7 * rank + length));
          const results = await Promise.all(members.map((member, rank) => member.reduceScatter(inputs[rank]!.slice(), { op })));
          const expected = serialReduce(inputs, op);
          for (const [rank, result] of results.entries()) {
            const [start, end] = segmentBounds(length, 3, rank);
            expect(result, `rank ${rank}, ${op}, ${length} elements`).toEqual(expected.slice(start, end));
          }
        }
      }
    });
  });

  describe('data movement', () => {
    it('broadcast copies the root buffer to every rank, from each root', async () => {
      const members = await group(3);
      for (const length of [1, 1000]) {
        for (let root = 0; root < 3; root++) {
          const inputs = members.map((_, rank) => values(length, 100 * root + rank));
          const results = await Promise.all(members.map((member, rank) => member.broadcast(inputs[rank]!.slice(), root)));
          for (const result of results) expect(result).toEqual(inputs[root]);
        }
      }
    });

    it('allgather concatenates every rank input in rank order, empty inputs included', async () => {
      const members = await group(3);
      for (const length of [0, 1, 333]) {
        const inputs = members.map((_, rank) => values(length, rank + 1));
        const results = await Promise.all(members.map((member, rank) => member.allgather(inputs[rank]!)));
        const expected = new Float32Array(3 * length);
        inputs.forEach((input, rank) => expected.set(input, rank * length));
        for (const result of results) expect(result).toEqual(expected);
      }
    });

    it('calls issued without waiting run in call order on every rank', async () => {
      const members = await group(2);
      const pending = members.map((member, rank) =>
        Promise.all([
          member.allreduce(Float32Array.of(rank + 1), { op: 'sum' }),
          member.broadcast(Float32Array.of(10 + rank), 1),
          member.allreduce(Float32Array.of(rank + 1), { op: 'max' }),
        ]),
      );
      for (const [sum, broadcast, max] of await Promise.all(pending)) {
        expect([sum[0], broadcast[0], max[0]]).toEqual([3, 11, 2]);
      }
    });
  });

  describe('synchronisation and failures', () => {
    it('barrier resolves on no rank before the last rank has arrived', async () => {
      const members = await group(3);
      const finished: number[] = [];
      const early = members.slice(0, 2).map((member, rank) => member.barrier().then(() => finished.push(rank)));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(finished).toEqual([]);
      await Promise.all([...early, members[2]!.barrier()]);
      expect(finished.sort()).toEqual([0, 1]);
    });

    it('a rank that does not arrive is named by the timeout error on the ranks that did', async () => {
      const members = await group(3, { timeoutMs: 60_000 });
      const outcomes = await Promise.allSettled(members.slice(0, 2).map((member) => member.allreduce(values(10, 1), { timeoutMs: 300 })));
      const errors = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason);
      for (const error of errors) {
        expect(error?.ranks).toEqual([2]);
        expect(error.message).toMatch(/allreduce #1 .*rank 2 did not arrive/);
      }
      // The first rank to time out aborts the group; a rank told by it before its own deadline (or, on a loaded
      // machine, before its call even started) carries the same ranks and message.
      expect(errors.filter((error) => error.name === 'CollectiveTimeoutError' && error.code === 'COLLECTIVE_TIMEOUT').length).toBeGreaterThan(0);
      // The group is now aborted everywhere: the late rank is told why at once instead of hanging.
      const late = await members[2]!.allreduce(values(10, 1)).then(() => undefined, (reason: unknown) => reason as { ranks: number[]; message: string });
      expect(late?.ranks).toEqual([2]);
      expect(late?.message).toMatch(/rank [01] aborted the group: allreduce #1 .* rank 2 did not arrive/);
    });

    it('different sizes or reduce ops at the same position fail on every rank with a mismatch naming both calls', async () => {
      const members = await group(2, { timeoutMs: 60_000 });
      const outcomes = await Promise.allSettled([members[0]!.allreduce(values(10, 1)), members[1]!.allreduce(values(11, 1))]);
      for (const outcome of outcomes) {
        const error = (outcome as PromiseRejectedResult).reason;
        expect(error).toMatchObject({ code: 'COLLECTIVE_MISMATCH' });
        expect(error.message).toContain('rank 0 called allreduce(sum, 10 floats)');
        expect(error.message).toContain('rank 1 called allreduce(sum, 11 floats)');
      }
      const again = await group(2, { timeoutMs: 60_000 });
      const opOutcomes = await Promise.allSettled([again[0]!.allreduce(values(4, 1), { op: 'sum' }), again[1]!.allreduce(values(4, 1), { op: 'max' })]);
      for (const outcome of opOutcomes) expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'COLLECTIVE_MISMATCH' });
    });

    it('a peer that dies fails the pending operation on the others at once, naming it (no timeout)', async () => {
      const members = await group(3, { timeoutMs: 90_000 });
      const pending = Promise.allSettled(members.slice(0, 2).map((member) => member.allreduce(values(1000, 3))));
      await new Promise((resolve) => setTimeout(resolve, 300)); // let ranks 0 and 1 enter the allreduce
      await members[2]!.crash();
      for (const outcome of await pending) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason;
        // PEER_LOST while waiting; ABORTED (with the same cause) had the death been seen before the call started.
        expect(['COLLECTIVE_PEER_LOST', 'COLLECTIVE_ABORTED']).toContain(error.code);
        expect(error.ranks).toEqual([2]);
        expect(error.message).toMatch(/rank 2 \(host .*, pid \d+\) disconnected/);
      }
    });

    it('after rank 0 dies the survivors and a warm spare re-form the group from a new unique id and reduce correctly', async () => {
      const [first, second, third] = await group(3, { timeoutMs: 90_000 });
      await first!.crash();
      // The survivors learn of the death on their next call (or at once, had one been pending).
      for (const survivor of [second!, third!]) {
        await expect(survivor.allreduce(values(5, 1))).rejects.toMatchObject({ ranks: [0] });
        await survivor.destroy();
      }
      const spare = await pool.spare();
      const reformed = await form([second!, third!, spare]);
      const inputs = reformed.map((_, rank) => values(1000, rank + 40));
      const results = await Promise.all(reformed.map((member, rank) => member.allreduce(inputs[rank]!.slice(), { op: 'mean' })));
      for (const result of results) expect(result).toEqual(serialReduce(inputs, 'mean'));
      await spare.destroy();
    });

    it('when a rank destroys its communicator, the next call of a peer fails naming it', async () => {
      const members = await group(2, { timeoutMs: 90_000 });
      await Promise.all(members.map((member) => member.barrier()));
      await members[0]!.destroy();
      const error = await members[1]!.barrier().then(() => undefined, (reason: unknown) => reason as { code: string; ranks: number[]; message: string });
      expect(['COLLECTIVE_PEER_LOST', 'COLLECTIVE_ABORTED']).toContain(error?.code);
      expect(error?.ranks).toEqual([0]);
      expect(error?.message).toMatch(/rank 0 .*left the group \(destroyed its communicator after operation #1\)/);
    });
  });

  return {
    get pool() {
      return pool;
    },
  };
}

/**
 * Form a group of `members` (rank = index) from a unique id that member 0 creates, as a trainer would: rank 0's
 * actor makes the id and the driver passes it to every rank's `join`.
 */
export async function formGroup(backend: CollectiveBackendName, members: Member[], options: { timeoutMs?: number } = {}): Promise<Member[]> {
  const uniqueId = await members[0]!.createUniqueId({
    backend,
    ...(backend === 'tcp' ? { host: members[0]!.host } : {}),
    chunkBytes: 256, // 64 floats: a 1,000-float buffer crosses many chunks, as 64 MiB does with the default
  });
  await Promise.all(
    members.map((member, rank) =>
      member.join(uniqueId, { rank, worldSize: members.length, ...options, ...(backend === 'tcp' ? { host: member.host } : {}) }),
    ),
  );
  return members;
}

/** `length` multiples of 1/4 in [-16, 16] from a small linear congruential generator (exact sums in float32). */
export function values(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = (seed * 2_654_435_761 + 1) >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    out[index] = ((state >>> 16) % 129) / 4 - 16;
  }
  return out;
}

/** The reference: combine rank 0, 1, ..., n-1 in order with float32 rounding at each step. */
export function serialReduce(inputs: Float32Array[], op: ReduceOp): Float32Array {
  const out = Float32Array.from(inputs[0]!);
  for (const input of inputs.slice(1)) {
    for (let index = 0; index < out.length; index++) {
      const a = out[index]!;
      const b = input[index]!;
      out[index] = op === 'max' ? Math.max(a, b) : op === 'min' ? Math.min(a, b) : a + b;
    }
  }
  if (op === 'mean') for (let index = 0; index < out.length; index++) out[index] = out[index]! / inputs.length;
  return out;
}
