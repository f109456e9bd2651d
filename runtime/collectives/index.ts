/**
 * NCCL-style collectives for data-parallel ranks: create a unique id on one process, pass it to every rank,
 * `createCommunicator`, then `allreduce` / `broadcast` / `allgather` / `reduceScatter` / `barrier` on flat
 * Float32Arrays. Backends: `shm` (one node), `tcp` (ring across hosts), `nccl` (GPU machines, native addon).
 */
export type { CallOptions, CollectiveBackendName, Communicator, CommunicatorOptions, ReduceOp, ReduceOptions } from './communicator.ts';
export { DEFAULT_TIMEOUT_MS } from './communicator.ts';
export { availableBackends, createCommunicator } from './create-communicator.ts';
export { CollectiveError, CollectiveTimeoutError, type CollectiveErrorCode } from './errors.ts';
export { segmentBounds } from './partition.ts';
export { createUniqueId, parseUniqueId, type UniqueId, type UniqueIdData, type UniqueIdOptions } from './unique-id.ts';
export { joinGroup, UNIQUE_ID_NAMESPACE, type JoinGroupOptions, type UniqueIdBoard } from './join-group.ts';
