/**
 * The collective communicator: one interface, several backends (`shm` on one node, `tcp` ring across nodes,
 * `nccl` on GPU machines), modelled on NCCL (https://docs.nvidia.com/deeplearning/nccl/user-guide/).
 *
 * Rules every backend follows (the conformance suite in test/runtime/collectives checks each of them):
 * - **Same order everywhere.** Every rank must call the same collectives, in the same order, with the same reduce op,
 *   root and sizes. Calls on one communicator run one at a time in call order (like work on one CUDA stream), so
 *   concurrent calls are allowed but are queued. A rank that calls something else at the same position gets a
 *   `COLLECTIVE_MISMATCH` error naming the ranks and what each called.
 * - **In place.** `allreduce` and `broadcast` write the result into the buffer they were given and resolve with that
 *   same buffer (no allocation per training step). `allgather` and `reduceScatter` return new arrays.
 * - **Deadlines.** Every operation has a timeout (communicator default 5 minutes, never NCCL's 30; override per call),
 *   counted from when the operation starts running on this rank. A timeout rejects with `CollectiveTimeoutError`
 *   naming the ranks that did not arrive; a peer whose connection drops fails the pending operation at once with
 *   `COLLECTIVE_PEER_LOST` naming it.
 * - **Broken is final.** After any failure the communicator is aborted on every rank (the failing rank tells its peers
 *   why), and every later call rejects at once. Like NCCL communicators, ours are not resizable: re-form the group by
 *   creating a new communicator from a new unique id with the new membership.
 * - **Identical results.** Each element of a reduction is computed once, by one rank, and copied to the others, so
 *   every rank ends with bitwise-identical values (data-parallel replicas never drift apart).
 */

/** How `allreduce` and `reduceScatter` combine values. `mean` is the sum divided by `worldSize`. */
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

/** The backends behind the interface, selected by name when the unique id is created. */
export type CollectiveBackendName = 'shm' | 'tcp' | 'nccl';

/** Options of one call. */
export interface CallOptions {
  /** Deadline for this call in milliseconds (default: the communicator's `timeoutMs`). */
  timeoutMs?: number;
}

/** Options of a reducing call. */
export interface ReduceOptions extends CallOptions {
  /** How values are combined (default `sum`). */
  op?: ReduceOp;
}

/**
 * One rank's handle on a group of `worldSize` ranks.
 *
 * @example
 * const communicator = await createCommunicator(uniqueId, { rank, worldSize: 2 });
 * await communicator.allreduce(gradients, { op: 'mean' }); // gradients now hold the mean over both ranks
 * await communicator.destroy();
 */
export interface Communicator {
  /** This rank, 0 <= rank < worldSize. */
  readonly rank: number;
  /** Number of ranks in the group. */
  readonly worldSize: number;
  /** The backend moving the data. */
  readonly backend: CollectiveBackendName;

  /**
   * Reduce `buffer` across all ranks, in place; resolves with `buffer`. Every rank passes the same length.
   *
   * @example
   * await communicator.allreduce(gradients, { op: 'mean', timeoutMs: 60_000 });
   */
  allreduce(buffer: Float32Array, options?: ReduceOptions): Promise<Float32Array>;

  /**
   * Copy `buffer` of rank `root` into `buffer` on every other rank, in place; resolves with `buffer`.
   *
   * @example
   * await communicator.broadcast(weights, 0); // every rank now holds rank 0's weights
   */
  broadcast(buffer: Float32Array, root: number, options?: CallOptions): Promise<Float32Array>;

  /**
   * Concatenate every rank's `input` in rank order: a new array of `worldSize * input.length` floats where rank r's
   * input sits at `[r * input.length, (r + 1) * input.length)`. Every rank passes the same length.
   *
   * @example
   * const all = await communicator.allgather(new Float32Array([rank])); // [0, 1, ..., worldSize - 1]
   */
  allgather(input: Float32Array, options?: CallOptions): Promise<Float32Array>;

  /**
   * Reduce `input` across ranks and return only this rank's segment of the result: the elements
   * `segmentBounds(input.length, worldSize, rank)` (segments differ in length by at most one when the length is not
   * divisible by `worldSize`). Every rank passes the same length.
   *
   * @example
   * const mine = await communicator.reduceScatter(gradients, { op: 'sum' });
   */
  reduceScatter(input: Float32Array, options?: ReduceOptions): Promise<Float32Array>;

  /**
   * Resolve only once every rank has called `barrier`.
   *
   * @example
   * await communicator.barrier();
   */
  barrier(options?: CallOptions): Promise<void>;

  /**
   * Leave the group: tell the peers, close connections and free shared memory. Pending and later calls reject with
   * `COLLECTIVE_DESTROYED`. Safe to call twice.
   *
   * @example
   * await communicator.destroy();
   */
  destroy(): Promise<void>;
}

/** Options shared by every backend when a rank joins a group. */
export interface CommunicatorOptions {
  /** This rank, 0 <= rank < worldSize. */
  rank: number;
  /** Number of ranks in the group; every rank must pass the same value. */
  worldSize: number;
  /** Default deadline of every operation, and of forming the group, in milliseconds (default 300_000 = 5 minutes). */
  timeoutMs?: number;
  /**
   * `tcp`: the local address to listen on for peers (default: the local address this process uses to reach the
   * rendezvous root, i.e. the interface on the cluster network).
   */
  host?: string;
}

/** The default deadline: 5 minutes (a production lesson: NCCL's 30 minutes hid hangs for half an hour). */
export const DEFAULT_TIMEOUT_MS = 300_000;
