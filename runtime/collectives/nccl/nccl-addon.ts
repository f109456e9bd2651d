/**
 * The functions the native addon (native/nccl_binding.cc) exports. Buffers are host Float32Arrays: the addon
 * copies them to the GPU, runs the NCCL collective on its own CUDA stream, and copies the result back.
 */
export interface NcclAddon {
  /** `ncclGetUniqueId`: 128 bytes; also starts NCCL's bootstrap root in this process. */
  getUniqueId(): Uint8Array;
  /** `cudaSetDevice(device)` + `ncclCommInitRank`, off the main thread. */
  initRank(uniqueId: Uint8Array, worldSize: number, rank: number, device: number): Promise<NcclHandle>;
  /** Run one collective off the main thread; `op` is 'sum' | 'avg' | 'max' | 'min'. */
  collective(handle: NcclHandle, kind: 'allreduce' | 'broadcast' | 'allgather' | 'reduceScatter', input: Float32Array, output: Float32Array, op: string, root: number): Promise<void>;
  /** `ncclCommAbort`: wakes a collective stuck on a dead or missing peer. */
  abort(handle: NcclHandle): void;
  /** `ncclCommDestroy` and free the device buffers. */
  destroy(handle: NcclHandle): void;
}

/** An opaque `ncclComm_t` with its stream and device buffers. */
export type NcclHandle = { readonly __ncclHandle: unique symbol };
