import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, PosttrainError } from '../../runtime/errors.ts';
import { rootLogger } from '../../runtime/logging.ts';
import { loadClusterSecurity, type ClusterSecurityOptions } from '../../runtime/cluster/grpc/cluster-security.ts';
import { parseGrpcAddress } from '../../runtime/cluster/grpc/grpc-address.ts';
import { insideSlurmJob } from '../../runtime/cluster/slurm-signals.ts';

interface SecurityFlags {
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsClientAuth?: boolean;
}

interface TimerFlags {
  heartbeatMs?: string;
  nodeTimeoutMs?: string;
  driverTimeoutMs?: string;
  keepaliveMs?: string;
}

/** Options both commands share: where the token and the certificates are. */
function securityOptions(command: Command): Command {
  return command
    .option('--token-file <path>', 'file holding the cluster token (default: POSTTRAIN_TOKEN, or the file in POSTTRAIN_TOKEN_FILE)')
    .option('--tls-cert <path>', 'PEM certificate of this process (default: POSTTRAIN_TLS_CERT)')
    .option('--tls-key <path>', 'its private key (default: POSTTRAIN_TLS_KEY)')
    .option('--tls-ca <path>', 'PEM CA that signs the cluster certificates (default: POSTTRAIN_TLS_CA)')
    .option('--tls-client-auth', 'mutual TLS: refuse peers without a certificate signed by the CA (default: POSTTRAIN_TLS_CLIENT_AUTH=1)')
    .option('--actor-module-root <dir...>', 'directories whose modules may become actors (default: the project here, and posttrain)')
    .addOption(new Option('--keepalive-ms <ms>', 'HTTP/2 ping interval; a silent peer is dropped after twice this').hideHelp());
}

function securityFrom(flags: SecurityFlags): ClusterSecurityOptions {
  const tls = {
    ...(flags.tlsCert === undefined ? {} : { certFile: flags.tlsCert }),
    ...(flags.tlsKey === undefined ? {} : { keyFile: flags.tlsKey }),
    ...(flags.tlsCa === undefined ? {} : { caFile: flags.tlsCa }),
    ...(flags.tlsClientAuth ? { requireClientCertificate: true } : {}),
  };
  return { ...(flags.tokenFile === undefined ? {} : { tokenFile: flags.tokenFile }), ...(Object.keys(tls).length > 0 ? { tls } : {}) };
}

function milliseconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new ConfigError([{ path: flag, message: `must be a whole number of milliseconds > 0, got '${value}'` }]);
  return parsed;
}

function port(value: string, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) throw new ConfigError([{ path: flag, message: `must be a port number from 0 to 65535, got '${value}'` }]);
  return parsed;
}

function keepalive(flags: TimerFlags): { keepaliveMs?: number; keepaliveTimeoutMs?: number } {
  const ms = milliseconds(flags.keepaliveMs, '--keepalive-ms');
  return ms === undefined ? {} : { keepaliveMs: ms, keepaliveTimeoutMs: ms };
}

/**
 * Run until SIGINT/SIGTERM, then stop cleanly; a user mistake prints its message, never a stack trace. Inside a
 * Slurm job SIGTERM reaches every process of the job at once and is the driver's stop notice
 * (runtime/cluster/slurm-signals.ts): there `onSlurmTerm` says what this process does meanwhile (default: keep
 * serving), and SIGINT alone stops it at once.
 */
async function runUntilSignal<T extends { stop(): Promise<void> }>(start: () => Promise<T>, onSlurmTerm?: (running: T) => Promise<void>): Promise<void> {
  let running: T;
  try {
    running = await start();
  } catch (error) {
    if (error instanceof PosttrainError) {
      process.stderr.write(`recipe cluster: ${error.message}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    }
    throw error;
  }
  const slurm = insideSlurmJob();
  await new Promise<void>((resolve) => {
    let stopping = false;
    let draining = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void running.stop().finally(resolve);
    };
    const slurmTerm = () => {
      rootLogger().info("Slurm's SIGTERM: serving until the driver has checkpointed (SIGINT stops at once)");
      if (onSlurmTerm === undefined || draining || stopping) return;
      draining = true;
      void onSlurmTerm(running).finally(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', slurm ? slurmTerm : stop);
  });
}

/**
 * `recipe cluster start --head` and `recipe cluster join <head>`: the `ray start` pair. The head keeps the control
 * store and schedules; each node agent offers its machine's resources and runs actors. Drivers connect with
 * `Runtime.start({ address: '<head>' })`. Every process of one cluster needs the same token (and, with TLS,
 * certificates from one CA).
 *
 * @example
 * registerClusterCommand(program);
 * // recipe cluster start --head --host 0.0.0.0 --port 6380   (with POSTTRAIN_TOKEN set)
 * // recipe cluster join 10.0.0.1:6380 --num-gpus 8
 */
export function registerClusterCommand(program: Command): void {
  const cluster = program.command('cluster').description('run a posttrain cluster: a head, and node agents that join it');

  securityOptions(
    cluster
      .command('start')
      .description('start the head of a cluster (the control store and scheduler); nodes join it with `recipe cluster join`')
      .option('--head', 'start the head (required: nodes are started with `recipe cluster join`)')
      .option('--host <host>', 'address to listen on; anything but loopback needs a token', '127.0.0.1')
      .option('--port <port>', 'port to listen on', '6380')
      .option('--state <file>', 'SQLite file of the control store; a head restarted on it recovers the cluster', join(homedir(), '.posttrain', 'cluster', 'head.sqlite'))
      .option('--etcd <urls>', 'keep the control store in etcd instead (http://host:2379 of each member, comma-separated); heads started alike elect a leader, the others stand by')
      .option('--etcd-prefix <prefix>', 'key prefix of this cluster in etcd', 'posttrain/')
      .option('--etcd-lease-ttl <seconds>', 'a standby takes over this long after the leader stopped renewing its lease', '10')
      .option('--heartbeat-ms <ms>', 'how often nodes heartbeat', '1000')
      .option('--node-timeout-ms <ms>', 'a node silent this long is declared dead (its actors fail, its bundles move)', '10000')
      .option('--driver-timeout-ms <ms>', 'a driver disconnected this long is gone, with its actors', '30000'),
  ).action(async (flags: SecurityFlags & TimerFlags & { head?: boolean; host: string; port: string; state: string; etcd?: string; etcdPrefix: string; etcdLeaseTtl: string; actorModuleRoot?: string[] }) => {
    if (!flags.head) {
      process.stderr.write('recipe cluster start: pass --head to start a head; a node joins with `recipe cluster join <head>`\n');
      process.exit(2);
    }
    await runUntilSignal(async () => {
      const logger = rootLogger();
      const [{ HeadService }, { parseEtcdEndpoints }] = await Promise.all([import('../../runtime/cluster/head-service.ts'), import('../../runtime/cluster/etcd-head-election.ts')]);
      const leaseTtlSeconds = Number(flags.etcdLeaseTtl);
      if (!Number.isInteger(leaseTtlSeconds) || leaseTtlSeconds < 1) throw new ConfigError([{ path: '--etcd-lease-ttl', message: `must be a whole number of seconds >= 1, got '${flags.etcdLeaseTtl}'` }]);
      return HeadService.start({
        host: flags.host,
        port: port(flags.port, '--port'),
        statePath: flags.state,
        ...(flags.etcd === undefined ? {} : { etcd: { endpoints: parseEtcdEndpoints(flags.etcd), prefix: flags.etcdPrefix, leaseTtlSeconds } }),
        // Another head leads now: this process has nothing left to do (a supervisor may start it again as a standby).
        onDeposed: () => process.exit(1),
        security: loadClusterSecurity(securityFrom(flags), process.env, logger),
        logger,
        heartbeatMs: milliseconds(flags.heartbeatMs, '--heartbeat-ms') as number,
        nodeTimeoutMs: milliseconds(flags.nodeTimeoutMs, '--node-timeout-ms') as number,
        driverTimeoutMs: milliseconds(flags.driverTimeoutMs, '--driver-timeout-ms') as number,
        grpc: keepalive(flags),
        ...(flags.actorModuleRoot === undefined ? {} : { actorModuleRoots: flags.actorModuleRoot }),
      });
    });
  });

  securityOptions(
    cluster
      .command('join')
      .description('start a node agent on this machine and join the cluster whose head is at <head> (host:port)')
      .argument('<head>', 'the head, host:port (with etcd: every head, comma-separated)')
      .option('--host <host>', 'address other nodes reach this one at (default: the local address of the route to the head)')
      .option('--port <port>', 'port of this node\'s object service (default: any)', '0')
      .option('--node-name <name>', 'unique node id (default: POSTTRAIN_NODE_NAME, else the host name)')
      .option('--num-cpus <n>', 'CPUs to offer (default: POSTTRAIN_NODE_CPUS, else all)')
      .option('--num-gpus <n>', 'GPUs to offer (default: POSTTRAIN_NODE_GPUS, else the visible devices)')
      .option('--memory <bytes>', 'memory to offer (default: POSTTRAIN_NODE_MEMORY, else 70% of RAM)')
      .option('--resources <json>', 'custom resources, e.g. \'{"nvlink_group_0": 1}\' (default: POSTTRAIN_NODE_RESOURCES)')
      .option('--object-store-memory <bytes>', 'bytes of objects kept in /dev/shm before spilling (default: 30% of RAM, at most 8 GiB)')
      .option('--prestart-workers <n>', 'workers booted ahead of need', '1'),
  ).action(async (head: string, flags: SecurityFlags & TimerFlags & { host?: string; port: string; nodeName?: string; numCpus?: string; numGpus?: string; memory?: string; resources?: string; objectStoreMemory?: string; prestartWorkers: string; actorModuleRoot?: string[] }) => {
    await runUntilSignal(async () => {
      const logger = rootLogger();
      const [{ NodeAgent }, { nodeResources }, { localAddressTowards }, { parseHeadAddresses }] = await Promise.all([
        import('../../runtime/cluster/node-agent.ts'),
        import('../../runtime/cluster/node-resources.ts'),
        import('../../runtime/cluster/cluster-driver.ts'),
        import('../../runtime/cluster/head-link.ts'),
      ]);
      const target = parseGrpcAddress(parseHeadAddresses(head, '<head>')[0] as string, '<head>');
      const node = nodeResources(flags, process.env);
      const securityOptionsGiven = securityFrom(flags);
      const security = loadClusterSecurity(securityOptionsGiven, process.env, logger);
      const tlsFiles = securityOptionsGiven.tls ?? tlsFromEnvironment();
      const memory = flags.objectStoreMemory === undefined ? undefined : Number(flags.objectStoreMemory);
      if (memory !== undefined && !(memory >= 0)) throw new ConfigError([{ path: '--object-store-memory', message: `must be a number of bytes, got '${flags.objectStoreMemory}'` }]);
      const prestart = Number(flags.prestartWorkers);
      if (!Number.isInteger(prestart) || prestart < 0) throw new ConfigError([{ path: '--prestart-workers', message: `must be a whole number >= 0, got '${flags.prestartWorkers}'` }]);
      return NodeAgent.start({
        head,
        nodeId: node.nodeId,
        host: flags.host ?? (await localAddressTowards(target.host, target.port)),
        port: port(flags.port, '--port'),
        resources: node.resources,
        gpuIds: node.gpuIds,
        security,
        securityFiles: { ...(security.token === undefined ? {} : { token: security.token }), ...(tlsFiles === undefined ? {} : { tls: tlsFiles }) },
        ...(memory === undefined ? {} : { objectStore: { memoryBytes: memory } }),
        ...(flags.actorModuleRoot === undefined ? {} : { actorModuleRoots: flags.actorModuleRoot }),
        prestartWorkers: prestart,
        logger,
        grpc: keepalive(flags),
      });
    }, (agent) => agent.stopWhenIdle());
  });
}

/** TLS files named by the environment, handed to workers (which load them themselves). */
function tlsFromEnvironment(): ClusterSecurityOptions['tls'] {
  const env = process.env;
  if (env.POSTTRAIN_TLS_CERT === undefined || env.POSTTRAIN_TLS_KEY === undefined) return undefined;
  return {
    certFile: env.POSTTRAIN_TLS_CERT,
    keyFile: env.POSTTRAIN_TLS_KEY,
    ...(env.POSTTRAIN_TLS_CA === undefined ? {} : { caFile: env.POSTTRAIN_TLS_CA }),
    ...(env.POSTTRAIN_TLS_CLIENT_AUTH === '1' ? { requireClientCertificate: true } : {}),
  };
}
