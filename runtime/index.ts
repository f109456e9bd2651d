/**
 * posttrain's distributed runtime: actors, actor groups, placement groups, resources and the object store.
 * See README "Runtime" and ../shared/ARCHITECTURE.md section 2.
 */
export { Runtime, type ActorGroupOptions, type PlacementGroupOptions } from './runtime.ts';
export type { RuntimeOptions, NodeOptions, ObjectStoreOptions, ActorOptions, ClusterTimeouts } from './runtime-options.ts';
export type { TlsFiles } from './cluster/grpc/cluster-security.ts';
export { ClusterSecurityError, GrpcCallError, HeadUnavailableError } from './cluster/cluster-errors.ts';
export { ActorHandle, type ActorClass, type CallOptions, type HealthReport, type MethodName, type MethodArgs, type MethodResult } from './actor/actor-handle.ts';
export { ActorGroup } from './actor/actor-group.ts';
export { PlacementGroup } from './actor/placement-group.ts';
export { ObjectRef, type GetOptions, type ObjectLocation } from './object-store/object-ref.ts';
export type { ObjectStoreUsage } from './object-store/object-directory.ts';
export { checkSharedMemory, type StatFs } from './object-store/shm-check.ts';
export { actorContext, inActor, type ActorContext } from './actor-context.ts';
export { MINIMUM_ACTOR_CPU, validateResources, type Resources } from './resources.ts';
export type { ActorSummary, PlacementGroupInfo, PlacementStrategy, NodeInfo } from './control/control-plane.ts';
export type { ControlStore } from './control/control-store.ts';
export { MemoryControlStore } from './control/control-store.ts';
export type { Transport, Channel, Listener, Frame } from './transport/transport.ts';
export { transportFor, registerTransport } from './transport/transports.ts';
export { ModuleAllowList } from './module-allow-list.ts';
export {
  ActorDiedError,
  ActorMethodError,
  ActorUnavailableError,
  ActorCreationError,
  ActorModuleNotAllowedError,
  CallTimeoutError,
  InfeasibleResourcesError,
  NamingError,
  ObjectLostError,
  ObjectStoreError,
  PlacementGroupInfeasibleError,
  PlacementGroupRemovedError,
  PlacementGroupTimeoutError,
  RuntimeClosedError,
  TransportError,
  type ActorDeathCause,
} from './runtime-errors.ts';
export { PosttrainError, ConfigError } from './errors.ts';
export { forwardRecord, redirectLogLines, rootLogger, setRootLogger, withLiveContext, type Logger } from './logging.ts';
// Checkpoints (see checkpoint/index.ts).
export type { CheckpointStore, StoredObject } from './checkpoint/store.ts';
export { CheckpointError } from './checkpoint/errors.ts';
export { S3CheckpointStore, MIN_PART_SIZE_BYTES, type S3StoreOptions } from './checkpoint/s3-store.ts';
export { FileCheckpointStore, type FileStoreOptions } from './checkpoint/file-store.ts';
export { openCheckpointStore, type OpenStoreOptions } from './checkpoint/open-store.ts';
export {
  CheckpointManifest,
  checkpointPrefix,
  LATEST_NAME,
  MANIFEST_NAME,
  parseStepDirectory,
  sha256Hex,
  STATE_NAME,
  stepDirectory,
  type ManifestObject,
  type ShardDtype,
} from './checkpoint/layout.ts';
export { takeSnapshot, type CheckpointInput, type CheckpointSnapshot } from './checkpoint/snapshot.ts';
export {
  CheckpointWriter,
  type CheckpointEvent,
  type CheckpointWriterOptions,
  type SaveHandle,
  type SaveOutcome,
} from './checkpoint/checkpoint-writer.ts';
export {
  findLatestVerified,
  listCheckpoints,
  loadCheckpoint,
  loadLatestVerified,
  readLatestPointer,
  type CheckpointProblem,
  type CheckpointSummary,
  type LoadedCheckpoint,
  type ReaderOptions,
  type VerifiedCheckpoint,
} from './checkpoint/checkpoint-reader.ts';
export { applyRetention, discardCheckpointsAfter } from './checkpoint/retention.ts';
// What the runtime itself serves and draws: /metrics, role hosts' metrics, progress bars.
export { isLoopback, startMetricsServer, type MetricsServer, type MetricsServerOptions } from './observability/metrics-server.ts';
export { createProgress, sharedProgress, type Progress, type ProgressBar, type ProgressFields, type ProgressOptions } from './observability/progress.ts';
export { addRemoteMetrics, type MetricsSnapshot, type RemoteMetricDescriptor, type RemoteMetricsSource } from './observability/remote-metrics.ts';
// Collectives (see collectives/index.ts).
export type { CollectiveBackendName, Communicator, CommunicatorOptions, ReduceOp, ReduceOptions } from './collectives/communicator.ts';
export { DEFAULT_TIMEOUT_MS } from './collectives/communicator.ts';
export { availableBackends, createCommunicator } from './collectives/create-communicator.ts';
export { CollectiveError, CollectiveTimeoutError, type CollectiveErrorCode } from './collectives/errors.ts';
export { segmentBounds } from './collectives/partition.ts';
export { createUniqueId, parseUniqueId, type UniqueId, type UniqueIdData, type UniqueIdOptions } from './collectives/unique-id.ts';
export { joinGroup, UNIQUE_ID_NAMESPACE, type JoinGroupOptions, type UniqueIdBoard } from './collectives/join-group.ts';

