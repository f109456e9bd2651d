/**
 * Cluster mode, for programs that start cluster processes themselves (the `recipe cluster` CLI does it for users):
 * the head service, node agents, and the gRPC transport with its security settings. Drivers need none of this:
 * `Runtime.start({ address })` joins a running cluster. See README "Cluster mode".
 */
export { HeadService, type HeadServiceOptions } from './head-service.ts';
export { NodeAgent, type NodeAgentOptions } from './node-agent.ts';
export { nodeResources, type NodeResourceFlags } from './node-resources.ts';
export { ClusterHead, NodeFencedError, type ClusterHeadOptions } from './cluster-head.ts';
export { SqliteControlStore } from './sqlite-control-store.ts';
export { GrpcTransport } from './grpc/grpc-transport.ts';
export type { GrpcTransportOptions } from './grpc/grpc-options.ts';
export { loadClusterSecurity, isLoopback, MINIMUM_TOKEN_LENGTH, type ClusterSecurity, type ClusterSecurityOptions, type TlsFiles } from './grpc/cluster-security.ts';
export { parseGrpcAddress, formatGrpcAddress } from './grpc/grpc-address.ts';
export { ClusterSecurityError, GrpcCallError, HeadUnavailableError } from './cluster-errors.ts';
