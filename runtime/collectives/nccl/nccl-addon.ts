/**
 * The functions the native addon (native/nccl_binding.cc) exports. Buffers are host Float32Arrays: the addon
 * copies them to the GPU, runs the NCCL collective on its own CUDA stream, and copies the result back.
 */
export interface NcclAddon {
  /** `ncclGetUniqueId`: 128 bytes; also starts NCCL's bootstrap root in this process. */
  getUniqueId(): Uint8Array;
  /** `cudaSetDevice(device)` + non-blocking `ncclCommInitRankConfig`, off the main thread; aborts after `timeoutMs`. */
  initRank(uniqueId: Uint8Array, worldSize: number, rank: number, device: number, timeoutMs: number): Promise<NcclHandle>;
  /**
   * Run one collective off the main thread: copy `input` to the GPU, run it, copy the result into `output` (which
   * may be `input`). `op` is 'sum' | 'avg' | 'max' | 'min'. Rejects with "timed out" or "aborted" after
   * `ncclCommAbort`.
   */
  collective(
    handle: NcclHandle,
    kind: 'allreduce' | 'broadcast' | 'allgather' | 'reduceScatter',
    input: Float32Array,
    output: Float32Array,
    op: string,
    root: number,
    timeoutMs: number,
  ): Promise<void>;
  /** Ask a running collective to `ncclCommAbort` (it then rejects with "aborted"). */
  abort(handle: NcclHandle): void;
  /** `ncclCommDestroy` (or abort, after a failure) and free the device memory now. */
  destroy(handle: NcclHandle): void;
}

/** An opaque `ncclComm_t` with its stream and device buffers. */
export type NcclHandle = { readonly __ncclHandle: unique symbol };
