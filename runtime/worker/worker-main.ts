/**
 * Entry point of every actor process (`node --import tsx worker-main.ts`). It connects to the head, fetches what
 * to construct, loads the actor's module (TypeScript through tsx), runs the constructor, listens for calls and
 * reports ready. It exits as soon as its link to the head closes, so no worker outlives its driver.
 */
import pino from 'pino';
import { setRootLogger } from '../logging.ts';
import { setActorContext } from '../actor-context.ts';
import { HeadClient } from '../control/head-client.ts';
import { ObjectClient } from '../object-store/object-client.ts';
import { Runtime } from '../runtime.ts';
import { RpcConnection } from '../transport/rpc.ts';
import { transportFor } from '../transport/transports.ts';
import { decodeValue, viewBuffer } from '../value-codec.ts';
import { PROBE_ROUTE } from '../actor/actor-connection.ts';
import type { ActorHandleData } from '../actor/call-codec.ts';
import type { WorkerBootstrap, WorkerClusterBootstrap } from '../head/worker-process.ts';
import type { Channel } from '../transport/transport.ts';
import { ActorHost } from './actor-host.ts';
import { insideSlurmJob } from '../cluster/slurm-signals.ts';

const bootstrap = JSON.parse(process.env.POSTTRAIN_WORKER ?? 'null') as WorkerBootstrap | null;
if (!bootstrap) {
  process.stderr.write('worker-main.ts is started by the runtime, not by hand\n');
  process.exit(2);
}
delete process.env.POSTTRAIN_WORKER;

const baseLogger = pino({ level: bootstrap.logLevel, base: undefined }, pino.destination({ fd: 2, sync: true }));
// Inside a Slurm job every process gets the job's SIGTERM at once; this one keeps serving the driver's last step
// and is SIGKILLed by its node agent when its actor is removed (../cluster/slurm-signals.ts).
if (insideSlurmJob()) process.on('SIGTERM', () => baseLogger.debug("Slurm's SIGTERM: serving until this actor is removed"));
// On a cluster node, other machines call this actor over gRPC (loaded only there: embedded workers start faster).
const cluster = bootstrap.cluster === undefined ? undefined : await import('../cluster/worker-cluster.ts').then((module) => module.startWorkerCluster(bootstrap.cluster as WorkerClusterBootstrap, baseLogger));
const channel = await transportFor(bootstrap.headAddress).connect(bootstrap.headAddress);
const headRpc = new RpcConnection(channel, { onClose: () => process.exit(0) });
headRpc.notify('hello', JSON.stringify([bootstrap.clientId]));
const control = new HeadClient(headRpc);
const start = await control.workerSpec();
// A prestarted worker on a cluster node takes the id the head chose for this actor incarnation.
const clientId = start.clientId ?? bootstrap.clientId;
if (clientId !== bootstrap.clientId) headRpc.notify('hello', JSON.stringify([clientId]));
const { spec } = start;
const logger = baseLogger.child({ node: start.nodeId, actor: start.displayName, role: spec.role });
setRootLogger(logger);

const objects = new ObjectClient(clientId, start.displayName, control, { shm: bootstrap.shmDirectory, spill: bootstrap.spillDirectory }, bootstrap.cluster?.objectHome);
const runtime = new Runtime({ clientId, clientName: start.displayName, control, objects, logger, ...(cluster ? { nodeId: start.nodeId } : {}) }, start.namespace);
setActorContext({
  runtime,
  actorId: start.actorId,
  name: start.displayName,
  role: spec.role,
  ...(start.namespace === undefined ? {} : { namespace: start.namespace }),
  incarnation: start.incarnation,
  nodeId: start.nodeId,
  gpuIds: start.gpuIds,
  ...(spec.group === undefined ? {} : { group: spec.group }),
  logger,
});

let instance: Record<string, unknown>;
try {
  const module = (await import(spec.module)) as Record<string, unknown>;
  const actorClass = module[spec.exportName];
  if (typeof actorClass !== 'function') {
    throw new TypeError(`module ${spec.module} has no exported class '${spec.exportName}' (exports: ${Object.keys(module).join(', ') || 'none'})`);
  }
  const args = decodeValue(spec.args.json, (index, kind) => viewBuffer(spec.args.buffers[index] as Uint8Array, kind), {
    decodeSpecial: (tag, data) => {
      if (tag === 'actor') return runtime.services.handleFromData(data as ActorHandleData);
      throw new Error(`cannot decode '${tag}' in constructor arguments`);
    },
  }) as unknown[];
  instance = new (actorClass as new (...args: unknown[]) => Record<string, unknown>)(...args);
} catch (error) {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  logger.error({ err: error }, 'actor construction failed');
  await control.workerFailed(reason);
  process.exit(1);
}

const host = new ActorHost(instance, spec, start.displayName, start.actorId, runtime.services);
const serveCalls = (callChannel: Channel) => {
  new RpcConnection(callChannel, {
    onRequest: (frame, respond, connection) => {
      // A caller whose link dropped asks whether this process still answers before it sends its calls again.
      if (frame.route === PROBE_ROUTE) respond.ok('true');
      else host.handle(frame, respond, connection);
    },
    onNotify: (frame, connection) => {
      if (frame.route === 'hello') connection.peerId = (JSON.parse(frame.body) as string[])[0];
    },
  });
};
const listener = await transportFor(bootstrap.listenAddress).listen(bootstrap.listenAddress, serveCalls);
if (cluster) {
  const remote = await cluster.listen(serveCalls);
  await control.workerReady(remote, listener.address);
} else {
  await control.workerReady(listener.address);
}
