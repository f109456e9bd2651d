import type { Logger } from 'pino';
import type { WorkerClusterBootstrap } from '../head/worker-process.ts';
import { registerTransport } from '../transport/transports.ts';
import type { Channel } from '../transport/transport.ts';
import { loadClusterSecurity } from './grpc/cluster-security.ts';
import { formatGrpcAddress } from './grpc/grpc-address.ts';
import { GrpcTransport } from './grpc/grpc-transport.ts';

/**
 * A worker on a cluster node: it reaches other nodes' actors over gRPC (with the cluster's token and TLS, handed
 * down by its node agent) and listens for callers on other machines on its node's address.
 *
 * @example
 * const cluster = await startWorkerCluster(bootstrap.cluster, logger);
 * const address = await cluster.listen((channel) => serve(channel)); // 'grpc:10.0.0.5:40211'
 */
export async function startWorkerCluster(bootstrap: WorkerClusterBootstrap, logger: Logger): Promise<{ listen(onChannel: (channel: Channel) => void): Promise<string> }> {
  const security = loadClusterSecurity({ ...(bootstrap.token === undefined ? {} : { token: bootstrap.token }), ...(bootstrap.tls === undefined ? {} : { tls: bootstrap.tls }) }, {});
  const transport = new GrpcTransport({
    security,
    logger,
    ...(bootstrap.keepaliveMs === undefined ? {} : { keepaliveMs: bootstrap.keepaliveMs }),
    ...(bootstrap.keepaliveTimeoutMs === undefined ? {} : { keepaliveTimeoutMs: bootstrap.keepaliveTimeoutMs }),
  });
  registerTransport('grpc', () => transport);
  return {
    async listen(onChannel) {
      const listener = await transport.listen(formatGrpcAddress(bootstrap.listenHost, 0), onChannel);
      return listener.address;
    },
  };
}
