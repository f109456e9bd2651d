import { join } from 'node:path';
import type { Logger } from 'pino';
import { rootLogger } from './logging.ts';
import { MemoryControlStore } from './control/control-store.ts';
import { Head } from './head/head.ts';
import { HeadServer } from './head/head-server.ts';
import { WorkerPool } from './head/worker-pool.ts';
import { RuntimeMetrics } from './metrics.ts';
import { ModuleAllowList } from './module-allow-list.ts';
import { ObjectClient } from './object-store/object-client.ts';
import { ObjectDirectory } from './object-store/object-directory.ts';
import { createSessionDirectories } from './object-store/session-directories.ts';
import { resolveNodes, type RuntimeOptions } from './runtime-options.ts';
import type { Embedded } from './runtime.ts';

/**
 * The embedded default: validate options, check `/dev/shm`, create the session's directories (shared memory,
 * spill, sockets), start the head and its server for workers, and the driver's object client. Everything is
 * removed again at shutdown, at process exit, or by the next start when this process died without either.
 */
export async function startEmbedded(options: RuntimeOptions): Promise<{ base: { clientId: string; clientName: string; control: Head; objects: ObjectClient; logger: Logger }; embedded: Embedded }> {
  const logger = (options.logger ?? rootLogger()).child({ component: 'runtime' });
  const nodes = resolveNodes(options.nodes);
  const { shm, spill, sockets, memoryBytes, remove } = createSessionDirectories(options.objectStore ?? {}, 'posttrain-session-', logger);
  const directories = [shm, spill, sockets];
  const onExit = remove;
  try {
    const objects = new ObjectDirectory({ shm, spill }, memoryBytes);
    const allowList = options.actorModuleRoots ? new ModuleAllowList(options.actorModuleRoots) : ModuleAllowList.defaults();
    const pool = new WorkerPool(
      { socketDirectory: sockets, shmDirectory: shm, spillDirectory: spill, logger, workerExecArgv: options.workerExecArgv ?? [], prestartWorkers: options.prestartWorkers ?? 1 },
      (clientId, cause) => head.processExited(clientId, cause),
    );
    const head: Head = new Head({ nodes, store: new MemoryControlStore(), objects, allowList, logger, reaperIntervalMs: options.reaperIntervalMs ?? 1000, launcher: () => pool });
    const server = new HeadServer(head, logger);
    pool.headAddress = await server.listen(`unix:${join(sockets, 'head.sock')}`);
    pool.refill();
    const metrics = new RuntimeMetrics(head, objects);
    const client = new ObjectClient('driver', 'driver', head, { shm, spill });
    logger.info({ nodes: nodes.map((node) => node.nodeId), shm, memoryBytes }, 'runtime started');
    return { base: { clientId: 'driver', clientName: 'driver', control: head, objects: client, logger }, embedded: { head, server, metrics, directories, onExit } };
  } catch (error) {
    onExit();
    process.removeListener('exit', onExit);
    throw error;
  }
}
