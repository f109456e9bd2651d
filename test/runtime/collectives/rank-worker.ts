/**
 * A rank in its own process, driven over the IPC channel by the test (the way an actor method would call the
 * communicator). Started with `child_process.fork` or, for cluster tests, `ip netns exec NAME node --import tsx`.
 *
 * Requests: `{ id, command, args }`; replies: `{ id, result }` or `{ id, error: { name, code, message, ranks } }`.
 * Float32Arrays cross the channel intact because the parent uses `serialization: 'advanced'`.
 */
import { createCommunicator, createUniqueId, type Communicator } from '../../../runtime/collectives/index.ts';
import { CollectiveError } from '../../../runtime/collectives/index.ts';
import { PosttrainError } from '../../../runtime/errors.ts';

interface Request {
  id: number;
  command: string;
  args: unknown[];
}

let communicator: Communicator | undefined;

function current(): Communicator {
  if (!communicator) throw new Error('no communicator: send "join" first');
  return communicator;
}

const commands: Record<string, (...args: never[]) => Promise<unknown>> = {
  createUniqueId: (options: Parameters<typeof createUniqueId>[0]) => createUniqueId(options),
  join: async (uniqueId: string, options: Parameters<typeof createCommunicator>[1]) => {
    communicator = await createCommunicator(uniqueId, options);
  },
  allreduce: (data: Float32Array, options: object) => current().allreduce(data, options),
  broadcast: (data: Float32Array, root: number, options: object) => current().broadcast(data, root, options),
  allgather: (data: Float32Array, options: object) => current().allgather(data, options),
  reduceScatter: (data: Float32Array, options: object) => current().reduceScatter(data, options),
  barrier: (options: object) => current().barrier(options),
  destroy: async () => {
    await communicator?.destroy();
    communicator = undefined;
  },
  ping: async () => ({ pid: process.pid }),
};

function errorData(error: unknown): Record<string, unknown> {
  if (error instanceof PosttrainError) {
    return { name: error.name, code: error.code, message: error.message, ranks: error instanceof CollectiveError ? error.ranks : undefined };
  }
  return { name: 'Error', code: 'UNEXPECTED', message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
}

process.on('message', (request: Request) => {
  const command = commands[request.command];
  if (!command) {
    process.send?.({ id: request.id, error: { name: 'Error', code: 'UNKNOWN_COMMAND', message: request.command } });
    return;
  }
  (command as (...args: unknown[]) => Promise<unknown>)(...request.args).then(
    (result) => process.send?.({ id: request.id, result }),
    (error: unknown) => process.send?.({ id: request.id, error: errorData(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
