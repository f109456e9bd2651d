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
// Checkpoints: the main entry points; the whole API is in checkpoint/index.ts.
export type { CheckpointStore } from './checkpoint/store.ts';
export { CheckpointError } from './checkpoint/errors.ts';
export { openCheckpointStore, type OpenStoreOptions } from './checkpoint/open-store.ts';
export { CheckpointWriter, type CheckpointWriterOptions } from './checkpoint/checkpoint-writer.ts';
export { loadLatestVerified, listCheckpoints } from './checkpoint/checkpoint-reader.ts';
// What the runtime itself serves and draws: /metrics, role hosts' metrics, progress bars.
export { isLoopback, startMetricsServer, type MetricsServer, type MetricsServerOptions } from './observability/metrics-server.ts';
export { createProgress, sharedProgress, type Progress, type ProgressBar, type ProgressFields, type ProgressOptions } from './observability/progress.ts';
export { addRemoteMetrics, type MetricsSnapshot, type RemoteMetricDescriptor, type RemoteMetricsSource } from './observability/remote-metrics.ts';
// Collectives: the main entry points; the whole API is in collectives/index.ts.
export type { Communicator, ReduceOp } from './collectives/communicator.ts';
export { availableBackends, createCommunicator } from './collectives/create-communicator.ts';
export { CollectiveError, CollectiveTimeoutError } from './collectives/errors.ts';
export { createUniqueId } from './collectives/unique-id.ts';
