import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.ts';
import { rootLogger } from '../logging.ts';
import { ObjectClient } from '../object-store/object-client.ts';
import { ObjectDirectory } from '../object-store/object-directory.ts';
import { createSessionDirectories } from '../object-store/session-directories.ts';
import type { RuntimeOptions } from '../runtime-options.ts';
import { registerTransport } from '../transport/transports.ts';
import { DriverControl } from './driver-control.ts';
import { loadClusterSecurity } from './grpc/cluster-security.ts';
import { parseGrpcAddress } from './grpc/grpc-address.ts';
import { GrpcTransport } from './grpc/grpc-transport.ts';
import { HeadLink, parseHeadAddresses } from './head-link.ts';
import { ObjectHome } from './object-home.ts';

/** What `Runtime` needs from a cluster driver, and how to leave the cluster. */
export interface ClusterDriver {
  base: { clientId: string; clientName: string; control: DriverControl; objects: ObjectClient; logger: Logger };
  /** Say goodbye (the head kills this driver's actors and groups, and waits for them), then close everything. */
  close(): Promise<void>;
}

/**
 * `Runtime.start({ address })`: join a running cluster as a driver. The driver keeps its own objects (a small
 * object store served over gRPC, so that actors on any node can `get` what it puts), says hello to the head, and
 * keeps that link up; actors it creates are placed on the cluster's nodes and die with it (after the head's
 * driver timeout if it vanishes without shutting down).
 *
 * @example
 * const runtime = await Runtime.start({ address: '10.0.0.1:6380', namespace: 'ppo' }); // token from POSTTRAIN_TOKEN
 */
export async function startClusterDriver(options: RuntimeOptions): Promise<ClusterDriver> {
  const logger = (options.logger ?? rootLogger()).child({ component: 'runtime' });
  // One head, or a leader and its standbys (etcd mode): the link finds the one that leads.
  const heads = parseHeadAddresses(options.address as string, 'address');
  const headAddress = heads.join(',');
  const head = parseGrpcAddress(heads[0] as string, 'address');
  if (options.nodes !== undefined) throw new ConfigError([{ path: 'nodes', message: 'a cluster driver has no nodes of its own: the nodes joined the head (recipe cluster join)' }]);
  const security = loadClusterSecurity({ ...pick(options) }, process.env, logger);
  const timeouts = options.clusterTimeouts ?? {};
  const transport = new GrpcTransport({
    security,
    logger,
    ...(timeouts.keepaliveMs === undefined ? {} : { keepaliveMs: timeouts.keepaliveMs }),
    ...(timeouts.keepaliveTimeoutMs === undefined ? {} : { keepaliveTimeoutMs: timeouts.keepaliveTimeoutMs }),
    ...(timeouts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: timeouts.connectTimeoutMs }),
  });
  registerTransport('grpc', () => transport);
  const host = options.host ?? (await localAddressTowards(head.host, head.port));
  const clientId = `driver-${randomBytes(6).toString('hex')}`;
  const directories = createSessionDirectories(options.objectStore ?? {}, 'posttrain-driver-', logger);
  let home: ObjectHome | undefined;
  try {
    const directory = new ObjectDirectory({ shm: directories.shm, spill: directories.spill }, directories.memoryBytes);
    home = await ObjectHome.start(
      { host, port: 0 },
      { directory, transport, logger, label: `driver ${clientId}`, ...(timeouts.objectFetchTimeoutMs === undefined ? {} : { fetchTimeoutMs: timeouts.objectFetchTimeoutMs }) },
    );
    const homeAddress = home.address;
    const link = new HeadLink({
      transport,
      address: headAddress,
      logger,
      requestTimeoutMs: timeouts.headRequestTimeoutMs ?? 60_000,
      onConnect: async (rpc) => rpc.notify('hello', JSON.stringify([{ role: 'driver', clientId, home: homeAddress }])),
    });
    await link.start();
    home.useHomeStatus(async (address) => (await link.request<string | null>('homeStatus', [address])) ?? undefined);
    const control = new DriverControl(link, directory, home);
    const objects = new ObjectClient(clientId, 'driver', control, { shm: directories.shm, spill: directories.spill }, homeAddress);
    logger.info({ head: headAddress, driver: clientId, objects: homeAddress }, `joined the cluster at ${headAddress}`);
    const objectHome = home;
    return {
      base: { clientId, clientName: 'driver', control, objects, logger },
      async close() {
        objects.flush();
        try {
          await link.request('goodbye', []);
        } catch (error) {
          logger.warn({ err: (error as Error).message }, 'could not say goodbye to the head; it will end this driver after its driver timeout');
        }
        link.close();
        await objectHome.close();
        await transport.close();
        directories.remove();
      },
    };
  } catch (error) {
    await home?.close();
    await transport.close();
    directories.remove();
    throw error;
  }
}

function pick(options: RuntimeOptions): { token?: string; tokenFile?: string; tls?: NonNullable<RuntimeOptions['tls']> } {
  return {
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  };
}

/**
 * The local address of this machine's route to the head: where nodes can reach this process back. A TCP connection
 * is opened to the head and its local end read (the kernel picks the interface), then closed.
 */
export function localAddressTowards(host: string, port: number, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (address: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(address);
    };
    const timer = setTimeout(() => done('127.0.0.1'), timeoutMs);
    socket.once('connect', () => done(socket.localAddress ?? '127.0.0.1'));
    // Unreachable now: connecting will fail with a clearer error later; loopback is as good a guess as any.
    socket.once('error', () => done('127.0.0.1'));
  });
}
