import { instrumentCommunicator } from './collective-metrics.ts';
import type { CollectiveBackendName, Communicator, CommunicatorOptions } from './communicator.ts';
import { loadNcclAddon } from './nccl/nccl-availability.ts';
import { NcclCommunicator } from './nccl/nccl-communicator.ts';
import { createShmCommunicator } from './shm/create-shm-communicator.ts';
import { createTcpCommunicator } from './tcp/create-tcp-communicator.ts';
import { parseUniqueId, type UniqueId, type UniqueIdData } from './unique-id.ts';
import { resolveCommunicatorOptions, type ResolvedCommunicatorOptions } from './validate.ts';

const backends: { [Name in CollectiveBackendName]: (id: Extract<UniqueIdData, { backend: Name }>, options: ResolvedCommunicatorOptions) => Promise<Communicator> } = {
  shm: createShmCommunicator,
  tcp: createTcpCommunicator,
  nccl: NcclCommunicator.create,
};

/**
 * Join the group named by `uniqueId` as `rank` of `worldSize` (NCCL's `ncclCommInitRank`). Every rank calls this
 * with the same id and world size; it resolves once all of them are connected, and rejects after `timeoutMs`
 * (default 5 minutes) with a `CollectiveTimeoutError` naming the ranks that did not join. Every operation of the
 * communicator is timed into this process's collective metrics (`collective-metrics.ts`).
 *
 * Re-forming after a member died: communicators are not resizable. The survivors `destroy()` theirs, one process
 * (the new rank 0 or the driver) creates a NEW unique id, and every member of the new membership (survivors plus a
 * warm spare) calls `createCommunicator` with it and its new rank.
 *
 * @example
 * // driver: ask rank 0 for an id, then start every rank with it
 * const uniqueId = await createUniqueId({ backend: 'shm' });
 * const communicator = await createCommunicator(uniqueId, { rank: 1, worldSize: 2, timeoutMs: 60_000 });
 * await communicator.allreduce(gradients, { op: 'mean' });
 */
export async function createCommunicator(uniqueId: UniqueId, options: CommunicatorOptions): Promise<Communicator> {
  const id = parseUniqueId(uniqueId);
  const resolved = resolveCommunicatorOptions(options);
  const communicator = await (backends[id.backend] as (id: UniqueIdData, options: ResolvedCommunicatorOptions) => Promise<Communicator>)(id, resolved);
  return instrumentCommunicator(communicator);
}

/**
 * Backends that can run in this process (`nccl` only where its addon, NCCL and a GPU are present).
 *
 * @example
 * availableBackends(); // ['shm', 'tcp'] on a machine without NCCL
 */
export function availableBackends(): CollectiveBackendName[] {
  return 'addon' in loadNcclAddon() ? ['shm', 'tcp', 'nccl'] : ['shm', 'tcp'];
}
