import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from './errors.ts';
import { rootLogger } from './logging.ts';
import { MemoryControlStore } from './control/control-store.ts';
import { Head } from './head/head.ts';
import { HeadServer } from './head/head-server.ts';
import { RuntimeMetrics } from './metrics.ts';
import { ModuleAllowList } from './module-allow-list.ts';
import { ObjectClient } from './object-store/object-client.ts';
import { ObjectDirectory } from './object-store/object-directory.ts';
import { checkSharedMemory } from './object-store/shm-check.ts';
import { defaultObjectStoreBytes, resolveNodes, type RuntimeOptions } from './runtime-options.ts';
import type { Embedded } from './runtime.ts';

/**
 * The embedded default: validate options, check `/dev/shm`, create the session's directories (shared memory,
 * spill, sockets), start the head and its server for workers, and the driver's object client. Everything is
 * removed again at shutdown, at process exit, or by the next start when this process died without either.
 */
export async function startEmbedded(options: RuntimeOptions): Promise<{ base: { clientId: string; clientName: string; control: Head; objects: ObjectClient; logger: Logger }; embedded: Embedded }> {
  if (options.address !== undefined) {
    throw new ConfigError([{ path: 'address', message: 'cluster mode (a remote head) is not available yet; omit address to run the embedded runtime' }]);
  }
  if (options.namespace !== undefined && (typeof options.namespace !== 'string' || options.namespace === '')) {
    throw new ConfigError([{ path: 'namespace', message: 'must be a non-empty string' }]);
  }
  const logger = (options.logger ?? rootLogger()).child({ component: 'runtime' });
  const nodes = resolveNodes(options.nodes);
  const store = options.objectStore ?? {};
  // macOS and Windows have no /dev/shm: there the OS temp directory (page-cached files) stands in, with a warning.
  const shmRoot = store.directory ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  if (store.directory === undefined && shmRoot !== '/dev/shm') {
    logger.warn({ directory: shmRoot }, `no /dev/shm on this system: the object store keeps objects in ${shmRoot} instead`);
  }
  const memoryBytes = store.memoryBytes ?? defaultObjectStoreBytes();
  if (!(memoryBytes >= 0)) throw new ConfigError([{ path: 'objectStore.memoryBytes', message: `must be >= 0, got ${memoryBytes}` }]);
  removeStaleSessions(shmRoot);
  checkSharedMemory({ directory: shmRoot, memoryBytes, ...(store.statfs ? { statfs: store.statfs } : {}) });
  const session = `posttrain-session-${process.pid}-`;
  const shm = mkdtempSync(join(shmRoot, session));
  const spillRoot = store.spillDirectory ?? tmpdir();
  mkdirSync(spillRoot, { recursive: true });
  removeStaleSessions(spillRoot);
  const spill = mkdtempSync(join(spillRoot, session));
  // Socket paths must stay under ~100 bytes, so they live in a short directory of their own.
  const sockets = mkdtempSync(join(tmpdir(), 'pt-'));
  const directories = [shm, spill, sockets];
  const onExit = () => directories.forEach((directory) => rmSync(directory, { recursive: true, force: true }));
  process.once('exit', onExit);
  try {
    const objects = new ObjectDirectory({ shm, spill }, memoryBytes);
    const allowList = options.actorModuleRoots ? new ModuleAllowList(options.actorModuleRoots) : ModuleAllowList.defaults();
    const head = new Head({
      nodes,
      store: new MemoryControlStore(),
      objects,
      allowList,
      logger,
      socketDirectory: sockets,
      shmDirectory: shm,
      spillDirectory: spill,
      reaperIntervalMs: options.reaperIntervalMs ?? 1000,
      workerExecArgv: options.workerExecArgv ?? [],
      prestartWorkers: options.prestartWorkers ?? 1,
    });
    const server = new HeadServer(head, logger);
    head.headAddress = await server.listen(`unix:${join(sockets, 'head.sock')}`);
    head.refillPool();
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

/** Remove session directories left by drivers that died without shutting down (their pid is gone). */
function removeStaleSessions(root: string): void {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^posttrain-session-(\d+)-/.exec(entry);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
}
