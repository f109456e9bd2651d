import { ConfigError } from '../errors.ts';
import type { CollectiveBackendName, Communicator } from './communicator.ts';
import { createCommunicator } from './create-communicator.ts';
import { createUniqueId, type UniqueIdOptions } from './unique-id.ts';

/** Where unique ids are published: the runtime's shared keys (`runtime.putKey` / `runtime.getKey`). */
export interface UniqueIdBoard {
  putKey(namespace: string, key: string, value: string): Promise<void>;
  getKey(namespace: string, key: string, options?: { timeoutMs?: number }): Promise<string | undefined>;
}

export interface JoinGroupOptions {
  /** Names this formation of the group; a re-formed group needs a new key (e.g. `policy-v2`), like a new unique id. */
  key: string;
  rank: number;
  worldSize: number;
  backend: CollectiveBackendName;
  /** Deadline of forming (and of each later operation), default 5 minutes. */
  timeoutMs?: number;
  /** Rank 0's options for its unique id (`host`, `chunkBytes`, ...). */
  uniqueId?: Omit<UniqueIdOptions, 'backend'>;
}

/** Keys of published unique ids live in this namespace of the runtime's shared keys. */
export const UNIQUE_ID_NAMESPACE = 'posttrain.collectives';

/**
 * Form a group with the unique id exchanged through the control store instead of through the caller: rank 0
 * creates the id and publishes it under `key`; every other rank waits for it (up to `timeoutMs`) and joins. On a
 * cluster the store is the head's (SQLite), so ranks on any node find it without the driver relaying it.
 *
 * @example
 * // inside each rank's actor method:
 * const communicator = await joinGroup(actorContext().runtime, { key: 'policy-v1', rank, worldSize: 2, backend: 'tcp' });
 */
export async function joinGroup(board: UniqueIdBoard, options: JoinGroupOptions): Promise<Communicator> {
  if (typeof options.key !== 'string' || options.key === '') throw new ConfigError([{ path: 'key', message: 'must name the group formation, e.g. policy-v1' }]);
  const timeoutMs = options.timeoutMs ?? 300_000;
  let uniqueId: string | undefined;
  if (options.rank === 0) {
    uniqueId = await createUniqueId({ ...options.uniqueId, backend: options.backend, timeoutMs });
    await board.putKey(UNIQUE_ID_NAMESPACE, options.key, uniqueId);
  } else {
    uniqueId = await board.getKey(UNIQUE_ID_NAMESPACE, options.key, { timeoutMs });
    if (uniqueId === undefined) {
      throw new ConfigError([{ path: 'key', message: `rank 0 did not publish a unique id under '${options.key}' within ${timeoutMs} ms (is rank 0 running joinGroup with the same key?)` }]);
    }
  }
  return createCommunicator(uniqueId, { rank: options.rank, worldSize: options.worldSize, timeoutMs });
}
