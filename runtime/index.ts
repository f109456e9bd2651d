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
export { parseConfig, applyOverrides } from './config-parse.ts';
export * from './checkpoint/index.ts';
export * from './observability/index.ts';
export * from './collectives/index.ts';
